// RocksDbVersionTable: a replica's versions and frontier in RocksDB, so a node holds more keys than fit in memory and
// restarts without replaying its history.
//
// Layout, one column family, by key prefix: 'v' + key (UTF-8) -> VersionRecordCodec record; 'd' + node id (16 bytes,
// big-endian) -> a dependency-trie node with its reference count (DependencyNodeWriter), for versions whose dependency
// sets are large; 'a' + origin (8 bytes, big-endian) -> seq; 'm' + name -> metadata (the key count). A version naming a
// trie is read with its nodes from one snapshot: a writer may release those nodes meanwhile. Changes collect in one
// WriteBatch between commits and are written by one Write: RocksDB applies a batch atomically and recovers its log as
// a prefix of the batches written (point-in-time recovery), which is what IVersionTable promises. Every Write reaches the operating system before it
// returns, so a commit survives a crash of the process; in Fsync mode a commit is acknowledged only after an fsync of the
// log, shared by every commit waiting at the time (group commit, see DurabilitySync).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Storage;
using RocksDbSharp;

namespace CausalKv.Node.Storage;

public sealed class RocksDbVersionTable : IVersionTable
{
    private const byte VersionPrefix = (byte)'v';
    private const byte AppliedPrefix = (byte)'a';
    private const byte NodePrefix = (byte)'d';
    private static readonly byte[] CountKey = "mcount"u8.ToArray();

    private readonly RocksDb _db;
    private readonly WriteOptions _write = new WriteOptions().SetSync(false);
    private readonly WriteBatch _batch = new();
    private readonly ArrayBufferWriter<byte> _record = new(256);
    private readonly DurabilitySync _sync;
    private readonly DependencyNodeWriter _nodes;
    private readonly bool _shareDependencies;
    private long _count;
    private long _commits;
    private bool _countChanged;
    private int _iterating;
    private volatile bool _closing;

    private RocksDbVersionTable(RocksDb db, Durability durability, bool shareDependencies)
    {
        _db = db;
        _shareDependencies = shareDependencies;
        _nodes = new DependencyNodeWriter(id => _db.Get(NodeKey(id)));
        _sync = new DurabilitySync(durability, () => Native.Instance.rocksdb_flush_wal(_db.Handle, 1));
        var count = _db.Get(CountKey);
        _count = count is { Length: 8 } ? BinaryPrimitives.ReadInt64BigEndian(count) : 0;
    }

    /// <summary>Opens (or creates) the table in <paramref name="directory"/>.</summary>
    /// <param name="cacheBytes">RocksDB's block cache: with the write buffers, what bounds the memory the data takes</param>
    /// <param name="shareDependencies">false keeps every dependency set inline in its version (what benchmarks compare against)</param>
    public static RocksDbVersionTable Open(string directory, Durability durability, long cacheBytes, bool shareDependencies = true)
    {
        Directory.CreateDirectory(directory);
        var table = new BlockBasedTableOptions()
            .SetBlockCache(Cache.CreateLru((ulong)cacheBytes))
            .SetCacheIndexAndFilterBlocks(true)
            .SetPinL0FilterAndIndexBlocksInCache(true)
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetFormatVersion(5);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetParanoidChecks(true)
            .SetWalRecoveryMode(Recovery.PointInTime)
            .SetBlockBasedTableFactory(table)
            .SetWriteBufferSize(16UL * 1024 * 1024)
            .SetMaxWriteBufferNumber(2)
            .SetMaxTotalWalSize(64UL * 1024 * 1024)
            .SetLevelCompactionDynamicLevelBytes(true)
            .SetCompression(Compression.Lz4)
            .SetKeepLogFileNum(3)
            .SetMaxLogFileSize(4UL * 1024 * 1024)
            .SetInfoLogLevel(InfoLogLevel.Warn)
            .IncreaseParallelism(2);
        return new RocksDbVersionTable(RocksDb.Open(options, directory), durability, shareDependencies);
    }

    public bool Durable => true;

    public bool KeepsObjects => false;

    public long Count => Interlocked.Read(ref _count);

    public StoredVersion? Get(string key)
    {
        Span<byte> small = stackalloc byte[256];
        var length = 1 + Encoding.UTF8.GetByteCount(key);
        var rented = length > small.Length ? ArrayPool<byte>.Shared.Rent(length) : null;
        var buffer = rented ?? small;
        try
        {
            var k = VersionKey(key, buffer);
            var version = _db.Get(k, RecordReader.Instance);
            return ReferenceEquals(version, RecordReader.NamesTrie) ? ReadWithTrie(k.ToArray()) : version;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A version that names a trie of dependencies: the record and its nodes from one snapshot.</summary>
    private StoredVersion? ReadWithTrie(byte[] key)
    {
        using var snapshot = _db.CreateSnapshot();
        var read = new ReadOptions().SetSnapshot(snapshot);
        var record = _db.Get(key, null, read);
        return record is null ? null : VersionRecordCodec.Decode(record, id => NodeContent(id, read));
    }

    private byte[]? NodeContent(UInt128 id, ReadOptions read) =>
        _db.Get(NodeKey(id), null, read) is { } record ? DependencyNodeWriter.ContentOf(record) : null;

    public IEnumerable<KeyValuePair<string, StoredVersion>> All => Scan(null, []);

    // 'v' + UTF-8 key: the engine's byte order over versions is KeyOrder, and the keys with a prefix are one run of it.
    public IEnumerable<KeyValuePair<string, StoredVersion>> Range(string? after, string prefix) =>
        Scan(after is null ? null : Encoding.UTF8.GetBytes(after), Encoding.UTF8.GetBytes(prefix));

    private IEnumerable<KeyValuePair<string, StoredVersion>> Scan(byte[]? after, byte[] prefix)
    {
        if (_closing) yield break;
        Interlocked.Increment(ref _iterating);
        try
        {
            using var snapshot = _db.CreateSnapshot();
            var read = new ReadOptions().SetSnapshot(snapshot);
            Func<UInt128, byte[]?> nodes = id => NodeContent(id, read);
            using var it = _db.NewIterator(null, read);
            var from = after is not null && after.AsSpan().SequenceCompareTo(prefix) > 0 ? after : prefix;
            it.Seek([VersionPrefix, .. from]);
            // Stops when the table closes: an iterator must not outlive the database it reads.
            for (; !_closing && it.Valid(); it.Next())
            {
                var k = it.GetKeySpan();
                if (k.IsEmpty || k[0] != VersionPrefix || !k[1..].StartsWith(prefix)) yield break;
                if (after is not null && k[1..].SequenceEqual(after)) continue;
                var key = Encoding.UTF8.GetString(k[1..]);
                yield return new(key, VersionRecordCodec.Decode(it.GetValueSpan(), nodes));
            }
        }
        finally
        {
            Interlocked.Decrement(ref _iterating);
        }
    }

    public Frontier LoadApplied()
    {
        var applied = new FrontierBuilder();
        using var it = _db.NewIterator();
        for (it.Seek([AppliedPrefix]); it.Valid(); it.Next())
        {
            var k = it.GetKeySpan();
            if (k.Length != 9 || k[0] != AppliedPrefix) break;
            applied.Raise(BinaryPrimitives.ReadInt64BigEndian(k[1..]), BinaryPrimitives.ReadInt64BigEndian(it.GetValueSpan()));
        }
        return applied.ToFrontier();
    }

    public void Put(string key, StoredVersion version, StoredVersion? previous)
    {
        var root = ShareDependencies(version.Dependencies, previous?.Dependencies);
        _record.ResetWrittenCount();
        VersionRecordCodec.Encode(version, _record, root);
        var k = VersionKey(key, new byte[1 + Encoding.UTF8.GetByteCount(key)]);
        _batch.Put(k, _record.WrittenSpan);
        if (previous is not null) return;
        Interlocked.Increment(ref _count);
        _countChanged = true;
    }

    /// <summary>
    /// Stores a large dependency set as a trie (sharing the nodes of the sets stored before) and releases the previous
    /// version's; returns the root to name, or null for a set kept inline.
    /// </summary>
    private UInt128? ShareDependencies(DependencySet deps, DependencySet? previous)
    {
        if (!_shareDependencies) return null;
        var shared = DependencyTrie.IsShared(deps);
        var hadShared = previous is not null && DependencyTrie.IsShared(previous);
        // The same set (a merge that only joined clocks): one reference before and after.
        if (shared && hadShared && ReferenceEquals(deps, previous)) return DependencyTrie.Build(deps).Id;
        UInt128? root = shared ? _nodes.Retain(deps) : null;
        if (hadShared) _nodes.Release(previous!);
        return root;
    }

    public void Remove(string key, StoredVersion previous)
    {
        if (_shareDependencies && DependencyTrie.IsShared(previous.Dependencies)) _nodes.Release(previous.Dependencies);
        _batch.Delete(VersionKey(key, new byte[1 + Encoding.UTF8.GetByteCount(key)]).ToArray());
        Interlocked.Decrement(ref _count);
        _countChanged = true;
    }

    public void SetApplied(long origin, long seq)
    {
        Span<byte> k = stackalloc byte[9];
        k[0] = AppliedPrefix;
        BinaryPrimitives.WriteInt64BigEndian(k[1..], origin);
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(v, seq);
        _batch.Put(k, v);
    }

    public long Commit()
    {
        if (_countChanged)
        {
            Span<byte> v = stackalloc byte[8];
            BinaryPrimitives.WriteInt64BigEndian(v, Interlocked.Read(ref _count));
            _batch.Put(CountKey, v);
            _countChanged = false;
        }
        if (_nodes.PendingCount > 0) _nodes.Flush(WriteNode);
        _db.Write(_batch, _write);
        _batch.Clear();
        var commit = Interlocked.Increment(ref _commits);
        _sync.Committed(commit);
        return commit;
    }

    public ValueTask WhenDurableAsync(long commit, CancellationToken ct = default) => _sync.WhenDurableAsync(commit, ct);

    /// <summary>Fsyncs run for commits waiting on one (each shared by every commit it covered).</summary>
    public long Syncs => _sync.Syncs;

    /// <summary>How many dependency-trie nodes are stored, and their bytes (a scan: for tests and benchmarks).</summary>
    public (long Nodes, long Bytes) DependencyNodes()
    {
        long nodes = 0, bytes = 0;
        using var it = _db.NewIterator();
        for (it.Seek([NodePrefix]); it.Valid(); it.Next())
        {
            var k = it.GetKeySpan();
            if (k.IsEmpty || k[0] != NodePrefix) break;
            nodes++;
            bytes += k.Length + it.GetValueSpan().Length;
        }
        return (nodes, bytes);
    }

    /// <summary>An engine property (e.g. <c>rocksdb.estimate-live-data-size</c>), for status and benchmarks.</summary>
    public string? Property(string name) => _db.GetProperty(name);

    public void Dispose()
    {
        _closing = true;
        // An enumeration in progress ends at its next step; one left undisposed by its reader is not waited for long.
        SpinWait.SpinUntil(() => Volatile.Read(ref _iterating) == 0, TimeSpan.FromSeconds(2));
        _sync.Dispose();
        _batch.Dispose();
        _db.Dispose();
    }

    private static ReadOnlySpan<byte> VersionKey(string key, Span<byte> buffer)
    {
        buffer[0] = VersionPrefix;
        var n = Encoding.UTF8.GetBytes(key, buffer[1..]);
        return buffer[..(n + 1)];
    }

    private void WriteNode(UInt128 id, byte[]? record)
    {
        if (record is null) _batch.Delete(NodeKey(id));
        else _batch.Put(NodeKey(id), record);
    }

    private static byte[] NodeKey(UInt128 id)
    {
        var k = new byte[17];
        k[0] = NodePrefix;
        BinaryPrimitives.WriteUInt128BigEndian(k.AsSpan(1), id);
        return k;
    }

    /// <summary>Decodes a record in place; one that names a trie comes back as <see cref="NamesTrie"/>, to be read from a snapshot.</summary>
    private sealed class RecordReader : ISpanDeserializer<StoredVersion?>
    {
        public static readonly RecordReader Instance = new();

        public static readonly StoredVersion NamesTrie = new(null, WriteTag.Zero, VersionVector.Empty, DependencySet.Empty);

        public StoredVersion? Deserialize(ReadOnlySpan<byte> buffer) =>
            VersionRecordCodec.SharesDependencies(buffer) ? NamesTrie : VersionRecordCodec.Decode(buffer);
    }
}
