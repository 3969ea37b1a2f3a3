using System.Diagnostics;
using System.Text;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Sharding;

public sealed class HashRingTests
{
    private const int KeyCount = 100_000;

    private static readonly string[] SequentialKeys =
        Enumerable.Range(0, KeyCount).Select(i => $"key{i}").ToArray();

    private static readonly string[] RandomKeys = MakeRandomKeys(seed: 20240601);

    private readonly ITestOutputHelper _output;

    public HashRingTests(ITestOutputHelper output) => _output = output;

    public static TheoryData<string, string> KeySetsAndNamings => new()
    {
        { "sequential", "shard{0}" },
        { "sequential", "s{0}" },
        { "random", "shard{0}" },
        { "random", "s{0}" },
    };

    [Theory]
    [MemberData(nameof(KeySetsAndNamings))]
    public void Balance_MaxOverAverage_AtMost105_ForOneToEightShards(string keySet, string naming)
    {
        var keys = Keys(keySet);
        var names = ShardNames(naming, 8);
        double worst = 0;
        for (int s = 1; s <= 8; s++)
        {
            var ring = new HashRing(names.Take(s));
            var counts = names.Take(s).ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
            foreach (var key in keys)
            {
                counts[ring.ShardFor(key)]++;
            }
            double avg = keys.Length / (double)s;
            double ratio = counts.Values.Max() / avg;
            worst = Math.Max(worst, ratio);
            _output.WriteLine(
                $"[{keySet}/{naming}] vnodes={ring.VirtualNodesPerShard} shards={s} max/avg={ratio:F4} min/avg={counts.Values.Min() / avg:F4} counts=[{string.Join(", ", counts.Values)}]");
            Assert.True(ratio <= 1.05, $"shards={s}: max/avg={ratio:F4} > 1.05");
        }
        _output.WriteLine($"[{keySet}/{naming}] worst max/avg over 1..8 shards = {worst:F4}");
    }

    [Theory]
    [MemberData(nameof(KeySetsAndNamings))]
    public void AddingShard_MovesAboutOneOverSPlusOne_AndOnlyToTheNewShard(string keySet, string naming)
    {
        var keys = Keys(keySet);
        var names = ShardNames(naming, 8);
        for (int s = 1; s <= 7; s++)
        {
            var before = new HashRing(names.Take(s));
            var after = new HashRing(names.Take(s + 1));
            string added = names[s];
            int moved = 0;
            int movedElsewhere = 0;
            foreach (var key in keys)
            {
                string a = before.ShardFor(key);
                string b = after.ShardFor(key);
                if (a != b)
                {
                    moved++;
                    if (b != added)
                    {
                        movedElsewhere++;
                    }
                }
            }
            double fraction = moved / (double)keys.Length;
            double expected = 1.0 / (s + 1);
            _output.WriteLine(
                $"[{keySet}/{naming}] {s}->{s + 1} shards: moved={fraction:F4} expected={expected:F4} diff={fraction - expected:+0.0000;-0.0000} movedBetweenOldShards={movedElsewhere}");
            Assert.Equal(0, movedElsewhere);
            Assert.InRange(fraction, expected - 0.02, expected + 0.02);
        }
    }

    [Fact]
    public void RemovingShard_MovesOnlyTheRemovedShardsKeys()
    {
        var names = ShardNames("shard{0}", 5);
        var before = new HashRing(names);
        var after = new HashRing(names.Where(n => n != "shard2"));
        foreach (var key in SequentialKeys.Take(20_000))
        {
            string a = before.ShardFor(key);
            string b = after.ShardFor(key);
            if (a != "shard2")
            {
                Assert.Equal(a, b);
            }
            else
            {
                Assert.NotEqual("shard2", b);
            }
        }
    }

    [Fact]
    public void Deterministic_AndIndependentOfShardOrder()
    {
        var r1 = new HashRing(["alpha", "beta", "gamma", "delta", "epsilon"]);
        var r2 = new HashRing(["epsilon", "gamma", "alpha", "delta", "beta"]);
        var r3 = new HashRing(["delta", "beta", "beta", "epsilon", "alpha", "gamma"]); // duplicates ignored
        Assert.Equal(r1.Shards, r2.Shards);
        Assert.Equal(r1.Shards, r3.Shards);
        Assert.Equal(["alpha", "beta", "delta", "epsilon", "gamma"], r1.Shards);
        foreach (var key in SequentialKeys.Take(20_000).Concat(RandomKeys.Take(20_000)))
        {
            string owner = r1.ShardFor(key);
            Assert.Equal(owner, r2.ShardFor(key));
            Assert.Equal(owner, r3.ShardFor(key));
        }
    }

    [Fact]
    public void KnownOwners_ArePinned()
    {
        // Pins the ring function: if these change, processes built from different revisions would
        // disagree about ownership. Values produced by this implementation (XxHash64 seed 0 over
        // UTF-8, vnode labels "{shard}#{i}", 4096 vnodes per shard, first point >= key hash).
        var ring = new HashRing(["s3", "s1", "s2"]);
        var owners = Enumerable.Range(0, 8).Select(i => ring.ShardFor($"key{i}")).ToArray();
        Assert.Equal(["s3", "s1", "s2", "s1", "s2", "s3", "s2", "s1"], owners);
    }

    [FsCheck.Xunit.Property(MaxTest = 30)]
    public bool AddingAnyShard_NeverMovesKeysBetweenOldShards(int seed, byte oldCount)
    {
        var rnd = new Random(seed);
        int count = 1 + (oldCount % 6);
        var names = Enumerable.Range(0, count + 1).Select(i => $"n{rnd.Next()}-{i}").ToArray();
        var before = new HashRing(names.Take(count), 64);
        var after = new HashRing(names.Reverse(), 64);
        string added = names[count];
        return SequentialKeys.Take(2000).All(k =>
        {
            string a = before.ShardFor(k);
            string b = after.ShardFor(k);
            return a == b || b == added;
        });
    }

    [Fact]
    public void StringAndUtf8Overloads_Agree_IncludingLongAndNonAsciiKeys()
    {
        var ring = new HashRing(["a", "b", "c", "d"]);
        var keys = new List<string> { "", "x", "ключ", "鍵-🔑", new string('z', 10_000), new string('é', 300) };
        keys.AddRange(RandomKeys.Take(1000));
        foreach (var key in keys)
        {
            Assert.Equal(ring.ShardFor(key), ring.ShardFor(Encoding.UTF8.GetBytes(key)));
        }
    }

    [Fact]
    public void SingleShard_OwnsEverything()
    {
        var ring = new HashRing(["only"]);
        Assert.All(SequentialKeys.Take(1000), k => Assert.Equal("only", ring.ShardFor(k)));
    }

    [Fact]
    public void InvalidShardNames_Throw()
    {
        Assert.Throws<ArgumentException>(() => new HashRing([]));
        Assert.Throws<ArgumentException>(() => new HashRing(["a", ""]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashRing(["a"], 0));
    }

    [Fact]
    public void Lookup_DoesNotAllocate()
    {
        var ring = new HashRing(ShardNames("shard{0}", 8));
        var keys = SequentialKeys.Take(1000).ToArray();
        var utf8 = keys.Select(Encoding.UTF8.GetBytes).ToArray();
        string sink = "";
        for (int i = 0; i < keys.Length; i++)
        {
            sink = ring.ShardFor(keys[i]);
            sink = ring.ShardFor(utf8[i]);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < keys.Length; i++)
        {
            sink = ring.ShardFor(keys[i]);
            sink = ring.ShardFor(utf8[i]);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.NotNull(sink);
        Assert.Equal(0, allocated);
    }

    private static string[] Keys(string keySet) => keySet == "random" ? RandomKeys : SequentialKeys;

    private static string[] ShardNames(string format, int count) =>
        Enumerable.Range(1, count).Select(i => string.Format(System.Globalization.CultureInfo.InvariantCulture, format, i)).ToArray();

    private static string[] MakeRandomKeys(int seed)
    {
        var rnd = new Random(seed);
        var keys = new string[KeyCount];
        Span<char> buf = stackalloc char[32];
        for (int i = 0; i < keys.Length; i++)
        {
            int len = rnd.Next(4, 32);
            for (int j = 0; j < len; j++)
            {
                buf[j] = (char)rnd.Next('!', '~' + 1);
            }
            keys[i] = new string(buf[..len]);
        }
        return keys;
    }
}
