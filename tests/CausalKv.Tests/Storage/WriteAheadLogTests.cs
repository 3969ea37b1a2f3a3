using CausalKv.Causality;
using CausalKv.Node.Storage;

namespace CausalKv.Tests.Storage;

public sealed class WriteAheadLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("causalkv-wal-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A version whose dependencies name <paramref name="deps"/> other keys: a write made cut off from its peers.</summary>
    private static StoredVersion Version(int seq, int deps)
    {
        var set = DependencySet.Empty;
        for (var i = 0; i < deps; i++) set = set.With($"dep{i}", new Dependency(VersionVector.Empty.With(7, i + 1), new WriteTag(1000 + i, 1)));
        return new StoredVersion($"v{seq}", new WriteTag(5000 + seq, 1), VersionVector.Empty.With(7, seq), set);
    }

    [Fact]
    public void Replay_returns_every_acknowledged_write_and_the_frontier()
    {
        using (var wal = new WriteAheadLog(_dir))
        {
            for (var i = 1; i <= 20; i++) { wal.Write($"k{i % 5}", Version(i, 3), 7, i); wal.Commit(); }
        }
        using var again = new WriteAheadLog(_dir);
        var (versions, applied) = again.Replay();
        Assert.Equal(5, versions.Count);
        Assert.Equal("v20", versions["k0"].Value);
        Assert.Equal(3, versions["k0"].Dependencies.Count);
        Assert.Equal(20, applied[7]);
    }

    [Fact]
    public void A_log_whose_live_state_is_over_the_threshold_is_not_compacted_on_every_write()
    {
        const long threshold = 64 * 1024;
        using var wal = new WriteAheadLog(_dir, threshold);
        var live = new Dictionary<string, StoredVersion>();
        var applied = new Dictionary<long, long>();
        var compactions = 0;
        for (var i = 1; i <= 400; i++)
        {
            // Versions with many dependencies: the compacted log alone is well over the threshold.
            var v = Version(i, 40);
            live[$"k{i}"] = v;
            applied[7] = i;
            wal.Write($"k{i}", v, 7, i);
            wal.Commit();
            if (!wal.NeedsCompaction) continue;
            wal.Compact(live, applied);
            compactions++;
            Assert.False(wal.NeedsCompaction, "right after a compaction the log needs none");
        }
        Assert.True(new FileInfo(Path.Combine(_dir, "wal.jsonl")).Length > threshold, "the live state is over the threshold");
        // Rewriting only when the log doubled: a handful of compactions for 400 writes, not one per write.
        Assert.InRange(compactions, 1, 12);
        var (versions, frontier) = wal.Replay();
        Assert.Equal(400, versions.Count);
        Assert.Equal(400, frontier[7]);
    }
}
