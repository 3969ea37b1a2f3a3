// RocksDbVersionTable: a replica's versions and frontier in RocksDB, so a node holds more keys than fit in memory and
// restarts without replaying its history.
//
// Layout, one column family, by key prefix: 'v' + key (UTF-8) -> VersionRecordCodec record; 'a' + origin (8 bytes,
// big-endian) -> seq; 'm' + name -> metadata (the key count). Changes collect in one WriteBatch between commits and are
// written by one Write: RocksDB applies a batch atomically and recovers its log as a prefix of the batches written
// (point-in-time recovery), which is what IVersionTable promises. Every Write reaches the operating system before it
// returns, so a commit survives a crash of the process; in Fsync mode a commit is acknowledged only after an fsync of the
// log, shared by every commit waiting at the time (group commit, see DurabilitySync).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CausalKv.Causality;
using CausalKv.Storage;
using RocksDbSharp;

namespace CausalKv.Node.Storage;

public sealed class RocksDbVersionTable : IVersionTable
{
    private const byte VersionPrefix = (byte)'v';
    private const byte AppliedPrefix = (byte)'a';
    private static readonly byte[] CountKey = "mcount"u8.ToArray();

    private readonly RocksDb _db;
    private readonly WriteOptions _write = new WriteOptions().SetSync(false);
    private readonly WriteBatch _batch = new();
    private readonly ArrayBufferWriter<byte> _record = new(256);
    private readonly DurabilitySync _sync;
    private long _count;
    private long _commits;
    private bool _countChanged;
    private int _iterating;
    private volatile bool _closing;

    private RocksDbVersionTable(RocksDb db, Durability durability)
    {
        _db = db;
        _sync = new DurabilitySync(durability, () => Native.Instance.rocksdb_flush_wal(_db.Handle, 1));
        var count = _db.Get(CountKey);
        _count = count is { Length: 8 } ? BinaryPrimitives.ReadInt64BigEndian(count) : 0;
    }

    /// <summary>Opens (or creates) the table in <paramref name="directory"/>.</summary>
    /// <param name="cacheBytes">RocksDB's block cache: with the write buffers, what bounds the memory the data takes</param>
    public static RocksDbVersionTable Open(string directory, Durability durability, long cacheBytes)
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
        return new RocksDbVersionTable(RocksDb.Open(options, directory), durability);
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
            return _db.Get(k, RecordReader.Instance);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public IEnumerable<KeyValuePair<string, StoredVersion>> All
    {
        get
        {
            if (_closing) yield break;
            Interlocked.Increment(ref _iterating);
            try
            {
                using var it = _db.NewIterator();
                it.Seek([VersionPrefix]);
                // Stops when the table closes: an iterator must not outlive the database it reads.
                for (; !_closing && it.Valid(); it.Next())
                {
                    var k = it.GetKeySpan();
                    if (k.IsEmpty || k[0] != VersionPrefix) yield break;
                    var key = Encoding.UTF8.GetString(k[1..]);
                    yield return new(key, VersionRecordCodec.Decode(it.GetValueSpan()));
                }
            }
            finally
            {
                Interlocked.Decrement(ref _iterating);
            }
        }
    }

    public Dictionary<long, long> LoadApplied()
    {
        var applied = new Dictionary<long, long>();
        using var it = _db.NewIterator();
        for (it.Seek([AppliedPrefix]); it.Valid(); it.Next())
        {
            var k = it.GetKeySpan();
            if (k.Length != 9 || k[0] != AppliedPrefix) break;
            applied[BinaryPrimitives.ReadInt64BigEndian(k[1..])] = BinaryPrimitives.ReadInt64BigEndian(it.GetValueSpan());
        }
        return applied;
    }

    public void Put(string key, StoredVersion version, bool isNew)
    {
        _record.ResetWrittenCount();
        VersionRecordCodec.Encode(version, _record);
        var k = VersionKey(key, new byte[1 + Encoding.UTF8.GetByteCount(key)]);
        _batch.Put(k, _record.WrittenSpan);
        if (!isNew) return;
        Interlocked.Increment(ref _count);
        _countChanged = true;
    }

    public void Remove(string key)
    {
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
        _db.Write(_batch, _write);
        _batch.Clear();
        var commit = Interlocked.Increment(ref _commits);
        _sync.Committed(commit);
        return commit;
    }

    public ValueTask WhenDurableAsync(long commit, CancellationToken ct = default) => _sync.WhenDurableAsync(commit, ct);

    /// <summary>Fsyncs run for commits waiting on one (each shared by every commit it covered).</summary>
    public long Syncs => _sync.Syncs;

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

    private sealed class RecordReader : ISpanDeserializer<StoredVersion?>
    {
        public static readonly RecordReader Instance = new();

        public StoredVersion? Deserialize(ReadOnlySpan<byte> buffer) => VersionRecordCodec.Decode(buffer);
    }
}
