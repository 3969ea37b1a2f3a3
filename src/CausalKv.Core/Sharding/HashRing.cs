// HashRing: consistent hashing of keys onto shards, with virtual nodes.
//
// Invariants (relied upon by handoff and routing; every process must compute the same answer):
//  * Deterministic: the owner of a key depends only on the key and on the SET of shard names.
//    There is no randomness, no per-process seed, no dependency on string.GetHashCode.
//    Hash = XxHash64 (System.IO.Hashing), seed 0, over UTF-8 bytes.
//  * Order independent: shard names are de-duplicated and sorted (ordinal) before the ring is
//    built, and ties between equal vnode hashes are broken by shard name (ordinal), so the
//    order in which shard names are supplied never matters.
//  * Consistent: each shard S contributes the points hash("{S}#{i}") for i in [0, VirtualNodes).
//    A shard's points do not depend on which other shards exist, so adding a shard only inserts
//    points; a key either keeps its owner or moves TO the new shard (never between old shards).
//    Symmetrically, removing a shard only moves the keys that the removed shard owned.
//  * Ownership: the owner of a key is the shard of the first vnode point clockwise from the key's
//    hash (the first point >= hash, wrapping around to the smallest point).
using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace CausalKv.Sharding;

/// <summary>
/// Immutable, thread-safe consistent-hash ring mapping keys to shard names.
/// </summary>
public sealed class HashRing
{
    /// <summary>
    /// Virtual nodes per shard. Chosen by measurement (see HashRingTests): with 1e5 keys the
    /// max/avg key count per shard stays &lt;= 1.05 for 1..8 shards.
    /// </summary>
    public const int DefaultVirtualNodesPerShard = 4096;

    private const int StackallocThreshold = 512;

    private readonly string[] _shards;      // sorted ordinal, distinct
    private readonly ulong[] _points;       // sorted ascending
    private readonly int[] _owners;         // _owners[i] = index into _shards owning _points[i]

    /// <summary>Creates a ring with <see cref="DefaultVirtualNodesPerShard"/> vnodes per shard.</summary>
    public HashRing(IEnumerable<string> shardNames)
        : this(shardNames, DefaultVirtualNodesPerShard)
    {
    }

    /// <summary>Creates a ring with the given number of virtual nodes per shard.</summary>
    public HashRing(IEnumerable<string> shardNames, int virtualNodesPerShard)
    {
        ArgumentNullException.ThrowIfNull(shardNames);
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodesPerShard, 1);

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in shardNames)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new ArgumentException("Shard names must be non-empty.", nameof(shardNames));
            }
            names.Add(name);
        }
        if (names.Count == 0)
        {
            throw new ArgumentException("A hash ring needs at least one shard.", nameof(shardNames));
        }

        _shards = [.. names];
        VirtualNodesPerShard = virtualNodesPerShard;

        int total = checked(_shards.Length * virtualNodesPerShard);
        var points = new ulong[total];
        var owners = new int[total];
        byte[] buffer = new byte[256];
        int n = 0;
        for (int s = 0; s < _shards.Length; s++)
        {
            string shard = _shards[s];
            int prefixMax = Encoding.UTF8.GetMaxByteCount(shard.Length) + 1 + 11;
            if (buffer.Length < prefixMax)
            {
                buffer = new byte[prefixMax];
            }
            int prefixLen = Encoding.UTF8.GetBytes(shard, buffer);
            buffer[prefixLen++] = (byte)'#';
            for (int i = 0; i < virtualNodesPerShard; i++)
            {
                // UTF-8 of "{shard}#{i}" with i in invariant decimal.
                i.TryFormat(buffer.AsSpan(prefixLen), out int digits, default, System.Globalization.CultureInfo.InvariantCulture);
                points[n] = XxHash64.HashToUInt64(buffer.AsSpan(0, prefixLen + digits), 0);
                owners[n] = s;
                n++;
            }
        }

        // Sort by (point, shard index). Shard indices follow ordinal name order, so ties (which
        // are astronomically unlikely with 64-bit hashes) still resolve identically everywhere:
        // Array.Sort(keys, items) is not stable, so each run of equal points is re-sorted by owner.
        Array.Sort(points, owners);
        for (int i = 0; i < total;)
        {
            int j = i + 1;
            while (j < total && points[j] == points[i])
            {
                j++;
            }
            if (j - i > 1)
            {
                Array.Sort(owners, i, j - i);
            }
            i = j;
        }
        _points = points;
        _owners = owners;
    }

    /// <summary>Shard names on the ring, distinct and sorted ordinal.</summary>
    public IReadOnlyList<string> Shards => _shards;

    /// <summary>Number of virtual nodes each shard contributes.</summary>
    public int VirtualNodesPerShard { get; }

    /// <summary>The shard owning <paramref name="key"/> (hash of its UTF-8 bytes).</summary>
    public string ShardFor(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int max = Encoding.UTF8.GetMaxByteCount(key.Length);
        if (max <= StackallocThreshold)
        {
            Span<byte> buf = stackalloc byte[StackallocThreshold];
            int len = Encoding.UTF8.GetBytes(key, buf);
            return ShardFor(buf[..len]);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            int len = Encoding.UTF8.GetBytes(key, rented);
            return ShardFor(rented.AsSpan(0, len));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The shard owning the key whose UTF-8 encoding is <paramref name="utf8Key"/>.</summary>
    public string ShardFor(ReadOnlySpan<byte> utf8Key)
    {
        ulong h = XxHash64.HashToUInt64(utf8Key, 0);
        return _shards[_owners[LowerBound(h)]];
    }

    /// <summary>Index of the first point &gt;= h, wrapping to 0 past the end.</summary>
    private int LowerBound(ulong h)
    {
        ulong[] points = _points;
        int lo = 0, hi = points.Length;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (points[mid] < h)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo == points.Length ? 0 : lo;
    }
}
