using System.Diagnostics;
using System.Globalization;
using System.Text;
using CausalKv.Causality;
using CausalKv.Node.Storage;
using LightningDB;
using RocksDbSharp;

namespace CausalKv.Bench;

/// <summary>
/// Candidate storage engines for the node, on the node's workload and this machine: RocksDB (an LSM tree with a
/// write-ahead log) and LMDB (LightningDB: a copy-on-write B+tree in one memory map), each as the node would use it
/// in each durability mode, against today's JSON-lines log (every version in memory, the log replayed whole at
/// start). One writer per key write (a node writes under one lock), then 16 concurrent writers with fsync (what
/// group commit can share), random reads, disk bytes per key and the time to open and serve a first read.
/// </summary>
internal static class EnginesScenario
{
    private static int Keys => int.TryParse(Environment.GetEnvironmentVariable("ENGINE_KEYS"), out var k) && k > 0 ? k : 100_000;
    private const int SyncedWrites = 400;
    private const int SyncWriters = 16;

    /// <summary>About what a version costs in a binary encoding: a 100-byte value, its tag, a clock of two entries, a few dependencies.</summary>
    private static byte[] Record(int i)
    {
        var bytes = new byte[220];
        new Random(i).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Key(int i) => Encoding.UTF8.GetBytes("k" + i.ToString(CultureInfo.InvariantCulture));

    private interface IEngine : IDisposable
    {
        void Put(byte[] key, byte[] value, bool sync);
        byte[]? Get(byte[] key);
    }

    private sealed class Rocks(string path) : IEngine
    {
        private readonly RocksDb _db = RocksDb.Open(new DbOptions().SetCreateIfMissing(true), path);
        private readonly WriteOptions _synced = new WriteOptions().SetSync(true);
        private readonly WriteOptions _unsynced = new WriteOptions().SetSync(false);

        public void Put(byte[] key, byte[] value, bool sync) => _db.Put(key, value, null, sync ? _synced : _unsynced);

        public byte[]? Get(byte[] key) => _db.Get(key);

        public void Dispose() => _db.Dispose();
    }

    private sealed class Lmdb : IEngine
    {
        private readonly LightningEnvironment _env;
        private readonly LightningDatabase _db;
        private readonly Lock _writer = new();

        public Lmdb(string path, bool sync)
        {
            _env = new LightningEnvironment(path) { MapSize = 8L << 30 };
            _env.Open(sync ? EnvironmentOpenFlags.None : EnvironmentOpenFlags.NoSync);
            using var tx = _env.BeginTransaction();
            _db = tx.OpenDatabase(configuration: new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
            tx.Commit();
        }

        public void Put(byte[] key, byte[] value, bool sync)
        {
            lock (_writer)
            {
                using var tx = _env.BeginTransaction();
                tx.Put(_db, key, value);
                tx.Commit();
            }
        }

        public byte[]? Get(byte[] key)
        {
            using var tx = _env.BeginTransaction(TransactionBeginFlags.ReadOnly);
            var (code, _, value) = tx.Get(_db, key);
            return code == MDBResultCode.Success ? value.CopyToNewArray() : null;
        }

        public void Dispose()
        {
            _db.Dispose();
            _env.Dispose();
        }
    }

    public static Task RunAsync(Report report)
    {
        report.Notes.Add($"{Keys} keys of 220-byte records (ENGINE_KEYS), written one per call by one writer; then {SyncedWrites} writes with fsync by one writer and by {SyncWriters} at once; " +
                         "random reads by one reader; disk bytes per key after closing; reopen = open the store and read one key (the JSON-lines log: replay it whole). " +
                         $"RocksDB {typeof(RocksDb).Assembly.GetName().Version}, LightningDB {typeof(LightningEnvironment).Assembly.GetName().Version}.");
        var root = Directory.CreateTempSubdirectory("causalkv-engines-").FullName;
        try
        {
            Measure(report, "RocksDB (WAL, no fsync: Process)", Path.Combine(root, "rocks"), p => new Rocks(p), syncWrites: false);
            Measure(report, "RocksDB (WAL, fsync per write: Fsync)", Path.Combine(root, "rocks-sync"), p => new Rocks(p), syncWrites: true);
            try
            {
                Measure(report, "LMDB (NoSync: Process)", Path.Combine(root, "lmdb"), p => new Lmdb(p, sync: false), syncWrites: false);
                Measure(report, "LMDB (fsync per commit: Fsync)", Path.Combine(root, "lmdb-sync"), p => new Lmdb(p, sync: true), syncWrites: true);
            }
            catch (DllNotFoundException e)
            {
                // LightningDB's own liblmdb needs glibc 2.38 (Debian 12 has 2.36): only the system's liblmdb (liblmdb-dev) loads here.
                report.Notes.Add($"LMDB could not be loaded ({e.Message.Split('\n')[0]}); install liblmdb-dev to measure it.");
            }
            MeasureLog(report, Path.Combine(root, "log"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
        return Task.CompletedTask;
    }

    private static void Measure(Report report, string name, string path, Func<string, IEngine> open, bool syncWrites)
    {
        Directory.CreateDirectory(path);
        Console.WriteLine($"  {name}...");
        var keys = Enumerable.Range(0, Keys).Select(Key).ToArray();
        double writeRate, syncOne, syncMany, readRate;
        using (var engine = open(path))
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < keys.Length; i++) engine.Put(keys[i], Record(i), sync: false);
            writeRate = keys.Length / clock.Elapsed.TotalSeconds;

            clock.Restart();
            for (var i = 0; i < SyncedWrites; i++) engine.Put(keys[i], Record(i + 1), sync: syncWrites);
            syncOne = SyncedWrites / clock.Elapsed.TotalSeconds;

            clock.Restart();
            Parallel.For(0, SyncWriters, new ParallelOptions { MaxDegreeOfParallelism = SyncWriters }, w =>
            {
                for (var i = w; i < SyncedWrites; i += SyncWriters) engine.Put(keys[i], Record(i + 2), sync: syncWrites);
            });
            syncMany = SyncedWrites / clock.Elapsed.TotalSeconds;

            var random = new Random(1);
            clock.Restart();
            for (var i = 0; i < keys.Length; i++)
                if (engine.Get(keys[random.Next(keys.Length)]) is null) throw new InvalidOperationException($"{name} lost a key");
            readRate = keys.Length / clock.Elapsed.TotalSeconds;
        }
        var bytes = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        var open2 = Stopwatch.StartNew();
        using (var engine = open(path))
            if (engine.Get(keys[^1]) is null) throw new InvalidOperationException($"{name} lost the last key across a reopen");
        Row(report, name, writeRate, syncWrites ? syncOne : double.NaN, syncWrites ? syncMany : double.NaN, readRate, (double)bytes / Keys, open2.Elapsed.TotalMilliseconds);
    }

    /// <summary>Today's store: versions in memory, each change appended to the JSON-lines log (no fsync).</summary>
    private static void MeasureLog(Report report, string path)
    {
        Console.WriteLine("  JSON-lines log...");
        var value = new string('v', 100);
        var dependencies = DependencySet.Empty;
        for (var d = 0; d < 3; d++)
            dependencies = dependencies.With($"dep{d}", new Dependency(VersionVector.Of(new VersionVector.Entry(1000 + d, 5)), new WriteTag(1_700_000_000_000 + d, d)));
        double writeRate;
        using (var log = new WriteAheadLog(path))
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < Keys; i++)
            {
                var version = new StoredVersion(value, new WriteTag(1_700_000_000_000 + i, 0), VersionVector.Of(new VersionVector.Entry(7, i + 1), new VersionVector.Entry(9, 3)), dependencies);
                log.Write("k" + i.ToString(CultureInfo.InvariantCulture), version, 7, i + 1);
                log.Commit();
            }
            writeRate = Keys / clock.Elapsed.TotalSeconds;
        }
        var bytes = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        var replay = Stopwatch.StartNew();
        using (var log = new WriteAheadLog(path))
        {
            var (versions, _, _) = log.Replay();
            if (versions.Count != Keys) throw new InvalidOperationException($"the log replayed {versions.Count} of {Keys} keys");
        }
        Row(report, "JSON-lines log + memory (earlier versions; no fsync)", writeRate, double.NaN, double.NaN, double.NaN, (double)bytes / Keys, replay.Elapsed.TotalMilliseconds);
    }

    private static void Row(Report report, string name, double write, double syncOne, double syncMany, double read, double bytesPerKey, double reopenMs) =>
        report.Add(new Dictionary<string, object?>
        {
            ["store"] = name,
            ["writes/s"] = Math.Round(write),
            [$"fsync writes/s, 1 writer"] = double.IsNaN(syncOne) ? "-" : Math.Round(syncOne),
            [$"fsync writes/s, {SyncWriters} writers"] = double.IsNaN(syncMany) ? "-" : Math.Round(syncMany),
            ["random reads/s"] = double.IsNaN(read) ? "- (memory)" : Math.Round(read),
            ["disk bytes/key"] = Math.Round(bytesPerKey),
            ["reopen ms"] = Math.Round(reopenMs, 1),
        });
}
