using CausalKv.Causality;
using CausalKv.Storage;

namespace CausalKv.Tests.Storage;

public sealed class VersionRecordCodecTests
{
    private static StoredVersion RandomVersion(Random random)
    {
        string Text(int max) => new(Enumerable.Range(0, random.Next(max)).Select(_ => (char)random.Next(0x20, 0x3000)).ToArray());
        VersionVector Clock()
        {
            var clock = VersionVector.Empty;
            for (var i = random.Next(4); i > 0; i--) clock = clock.With(random.NextInt64(long.MinValue, long.MaxValue), random.NextInt64(1, long.MaxValue));
            return clock;
        }
        WriteTag Tag() => new(random.NextInt64(long.MinValue, long.MaxValue), random.Next(int.MinValue, int.MaxValue));
        var deps = DependencySet.Empty;
        for (var i = random.Next(6); i > 0; i--)
        {
            var clock = Clock();
            if (!clock.IsEmpty) deps = deps.With(Text(12), new Dependency(clock, Tag()));
        }
        if (random.Next(2) == 0) deps = deps.Observing(Tag());
        return new StoredVersion(random.Next(5) == 0 ? null : Text(200), Tag(), Clock(), deps);
    }

    [Fact]
    public void A_record_decodes_to_the_version_it_was_made_from()
    {
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var v = RandomVersion(random);
            var back = VersionRecordCodec.Decode(VersionRecordCodec.Encode(v));
            Assert.True(back.SameStateAs(v), $"case {i}: state differs");
            Assert.True(back.Dependencies.SetEquals(v.Dependencies), $"case {i}: dependencies differ");
        }
    }

    [Fact]
    public void Damaged_bytes_decode_to_some_version_or_are_refused_never_anything_else()
    {
        var random = new Random(11);
        var refused = 0;
        for (var i = 0; i < 5000; i++)
        {
            var bytes = VersionRecordCodec.Encode(RandomVersion(random));
            switch (random.Next(3))
            {
                case 0: bytes = bytes[..random.Next(bytes.Length)]; break;
                case 1: bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8)); break;
                default: random.NextBytes(bytes); break;
            }
            try { VersionRecordCodec.Decode(bytes); }
            catch (FormatException) { refused++; }
        }
        Assert.True(refused > 0, "no damaged record was refused");
    }
}
