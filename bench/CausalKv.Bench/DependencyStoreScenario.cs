using System.Diagnostics;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Replication;

namespace CausalKv.Bench;

/// <summary>
/// What a long partition costs the store. One session writes N distinct keys in a row through a replica on RocksDB and
/// nothing is pruned (as on a replica cut off from the rest of its shard), so write i carries the i - 1 before it. Side by
/// side for each N: dependency sets stored as shared tries (the default) and kept inline in each version. Reported: the
/// store's bytes on disk after a reopen (the log flushed into compressed tables), per write, how they grow from N/2 to N,
/// and the mean time per write.
/// </summary>
internal static class DependencyStoreScenario
{
    private static readonly int[] Sizes = [1_000, 2_000, 4_000, 8_000];

    public static Task RunAsync(Report report)
    {
        var previous = new Dictionary<bool, long>();
        foreach (var n in Sizes)
        {
            foreach (var shared in new[] { true, false })
            {
                var dir = Directory.CreateTempSubdirectory("causalkv-deps-").FullName;
                try
                {
                    var clock = Stopwatch.StartNew();
                    using (var store = new ReplicaStore(TimeProvider.System, RocksDbVersionTable.Open(dir, Durability.Process, 8 << 20, shared)))
                    {
                        store.StartIncarnation(1);
                        var session = DependencySet.Empty;
                        for (var i = 0; i < n; i++)
                        {
                            var key = "key-" + i;
                            var written = store.Write(key, new string('v', 100), session, 1);
                            session = CausalRead.AfterObserving(session, key, written);
                        }
                    }
                    var seconds = clock.Elapsed.TotalSeconds;
                    long nodeBytes;
                    using (var reopened = RocksDbVersionTable.Open(dir, Durability.Process, 8 << 20, shared)) nodeBytes = reopened.DependencyNodes().Bytes;
                    var bytes = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                    report.Add(new()
                    {
                        ["writes"] = n,
                        ["dependencies"] = shared ? "shared tries" : "inline",
                        ["store bytes on disk"] = bytes,
                        ["bytes per write"] = (double)bytes / n,
                        ["growth from N/2"] = previous.TryGetValue(shared, out var half) ? (double)bytes / half : null,
                        ["trie node bytes (uncompressed)"] = shared ? nodeBytes : null,
                        ["µs per write"] = seconds * 1e6 / n,
                    });
                    previous[shared] = bytes;
                }
                finally
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
        report.Notes.Add("Sharing is the default; inline is RocksDbVersionTable.Open(..., shareDependencies: false). A doubling of N that quadruples the bytes is the N² the tries remove.");
        return Task.CompletedTask;
    }
}
