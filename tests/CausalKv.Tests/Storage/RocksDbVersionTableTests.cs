using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Tests.Simulation;

namespace CausalKv.Tests.Storage;

/// <summary>The engine under a replica: what survives a reopen, a torn or damaged log, and how fsyncs are shared.</summary>
public sealed class RocksDbVersionTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("causalkv-rocks-").FullName;
    private readonly SimulatedClock _clock = new(() => 1_000_000, 0);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private RocksDbVersionTable Open(Durability durability = Durability.Process) =>
        RocksDbVersionTable.Open(Path.Combine(_dir, NodeStorage.StoreFolder), durability, 8 << 20);

    /// <summary>Writes k0..k(n-1) in order through a replica, one commit each, and returns the origin.</summary>
    private long WriteKeys(int n, Durability durability = Durability.Process)
    {
        using var store = new ReplicaStore(_clock, Open(durability));
        var origin = store.StartIncarnation(1);
        var session = DependencySet.Empty;
        for (var i = 0; i < n; i++)
        {
            var v = store.Write($"k{i}", $"value {i} " + new string('x', 100), session, 1);
            session = session.With($"k{i}", v.AsDependency());
        }
        return origin;
    }

    [Fact]
    public void Versions_count_and_frontier_survive_a_reopen_and_a_delete_stays_a_delete()
    {
        long origin;
        using (var store = new ReplicaStore(_clock, Open()))
        {
            origin = store.StartIncarnation(1);
            for (var i = 0; i < 50; i++) store.Write($"k{i}", $"v{i}", DependencySet.Empty, 1);
            store.Write("k3", null, DependencySet.Empty, 1);
        }
        using var again = new ReplicaStore(_clock, Open());
        Assert.Equal(50, again.Recovered);
        Assert.Equal(51, again.AppliedSnapshot().Get(origin));
        Assert.Equal("v7", again.Get("k7")!.Value);
        Assert.True(again.Get("k3")!.IsDeleted);
        Assert.Equal(50, again.All.Count());
        Assert.Equal(again.All.Select(kv => kv.Key).Order(StringComparer.Ordinal), again.All.Select(kv => kv.Key));
    }

    [Fact]
    public void A_dependency_set_is_kept_whole_with_its_highest_tag()
    {
        var deps = DependencySet.Empty.With("a", new Dependency(VersionVector.Empty.With(9, 4), new WriteTag(77, 2)))
            .Observing(new WriteTag(900, 3));
        using (var store = new ReplicaStore(_clock, Open()))
        {
            store.StartIncarnation(1);
            store.Write("k", "v", deps, 1);
        }
        using var again = new ReplicaStore(_clock, Open());
        var back = again.Get("k")!;
        Assert.Equal(new WriteTag(900, 3), back.Dependencies.HighestTag);
        Assert.Equal(new WriteTag(77, 2), back.Dependencies["a"]!.Tag);
        Assert.True(back.Tag > new WriteTag(900, 3), "the write's tag is above every tag its session observed");
    }

    /// <summary>
    /// A log cut short or damaged anywhere keeps a prefix of the commits: the frontier never names a write whose
    /// version is gone, so the peers resend exactly what was lost.
    /// </summary>
    [Theory]
    [InlineData("torn tail")]
    [InlineData("damaged middle")]
    public void A_torn_or_damaged_log_leaves_a_prefix_of_the_commits_and_a_frontier_that_names_only_what_is_there(string damage)
    {
        const int writes = 400;
        var origin = WriteKeys(writes);
        var log = Directory.GetFiles(Path.Combine(_dir, NodeStorage.StoreFolder), "*.log").OrderBy(File.GetLastWriteTimeUtc).Last();
        var bytes = File.ReadAllBytes(log);
        Assert.True(bytes.Length > writes * 100, $"the writes are in the engine's log ({bytes.Length} bytes)");
        if (damage == "torn tail") File.WriteAllBytes(log, bytes[..(bytes.Length * 2 / 3)]);
        else
        {
            for (var i = 0; i < 64; i++) bytes[bytes.Length / 2 + i] ^= 0x5A;
            File.WriteAllBytes(log, bytes);
        }

        using var again = new ReplicaStore(_clock, Open());
        var kept = again.AppliedSnapshot().Get(origin);
        Assert.InRange(kept, 1, writes - 1);
        Assert.Equal(kept, again.Recovered);
        for (var i = 0; i < writes; i++)
        {
            var v = again.Get($"k{i}");
            if (i < kept) Assert.True(v is not null && v.Value!.StartsWith($"value {i} ", StringComparison.Ordinal), $"k{i} is kept whole");
            else Assert.Null(v);
        }
    }

    [Fact]
    public void A_damaged_data_file_is_refused_at_open_or_at_the_read_never_served_as_a_value()
    {
        // 40 MiB of incompressible values: more than the write buffers hold, so most of them are in data files.
        var random = new Random(3);
        var written = new Dictionary<string, string>();
        using (var store = new ReplicaStore(_clock, Open()))
        {
            store.StartIncarnation(1);
            var bytes = new byte[75_000];
            for (var i = 0; i < 400; i++)
            {
                random.NextBytes(bytes);
                written[$"k{i}"] = Convert.ToBase64String(bytes);
                store.Write($"k{i}", written[$"k{i}"], DependencySet.Empty, 1);
            }
        }
        var files = Directory.GetFiles(Path.Combine(_dir, NodeStorage.StoreFolder), "*.sst");
        Assert.NotEmpty(files);
        var file = files.OrderByDescending(f => new FileInfo(f).Length).First();
        var data = File.ReadAllBytes(file);
        for (var i = 0; i < 4096; i++) data[data.Length / 3 + i] ^= 0xA5;
        File.WriteAllBytes(file, data);

        var opened = NodeStorage.Open(new NodeOptions { DataDirectory = _dir });
        using (opened.Table)
        {
            if (opened.LostState) return; // refused at open and set aside: nothing of it is served
            var refused = 0;
            foreach (var (key, value) in written)
            {
                try
                {
                    var v = opened.Table.Get(key);
                    Assert.True(v is null || v.Value == value, $"{key} came back with a value that was never written");
                }
                catch (RocksDbSharp.RocksDbException e) when (e.Message.Contains("Corruption", StringComparison.OrdinalIgnoreCase))
                {
                    refused++;
                }
            }
            Assert.True(refused > 0, "the damaged block was read without its checksum failing");
        }
    }

    /// <summary>
    /// A session that never sees its writes become stable: every version from the 34th on names a trie of the writes
    /// before it. They survive a reopen whole, read one by one and in a scan; overwriting and removing the versions
    /// releases their nodes down to none.
    /// </summary>
    [Fact]
    public void Large_dependency_sets_are_stored_as_shared_tries_that_survive_a_reopen_and_go_with_their_versions()
    {
        const int writes = 300;
        WriteKeys(writes);
        var expected = new Dictionary<string, DependencySet>();
        using (var table = Open())
        {
            var (nodes, bytes) = table.DependencyNodes();
            Assert.True(nodes > 0, "no trie was stored");
            var own = Enumerable.Range(0, writes).Select(i => table.Get($"k{i}")!.AsDependency()).ToArray();
            for (var i = 0; i < writes; i++)
            {
                var deps = table.Get($"k{i}")!.Dependencies;
                Assert.Equal(i, deps.Count);
                for (var j = 0; j < i; j++) Assert.Equal(own[j], deps[$"k{j}"]);
                expected[$"k{i}"] = deps;
            }
            // Inline, the 300 sets would take about 300²/2 entries of 20-odd bytes: some 900 kB.
            Assert.True(bytes < 300_000, $"{nodes} nodes take {bytes} bytes");
            foreach (var (key, version) in table.All) Assert.True(version.Dependencies.SetEquals(expected[key]), key);
        }
        using (var store = new ReplicaStore(_clock, Open()))
        {
            store.StartIncarnation(2);
            // Overwritten with a small set, or handed off: each releases its trie.
            for (var i = 0; i < writes; i += 2) store.Write($"k{i}", "over", DependencySet.Empty, 2);
            store.RemoveIfUnchanged(Enumerable.Range(0, writes).Where(i => i % 2 == 1).Select(i => new KeyValuePair<string, StoredVersion>($"k{i}", store.Get($"k{i}")!)).ToList());
        }
        using var again = Open();
        Assert.Equal((0L, 0L), again.DependencyNodes());
        Assert.Equal(writes / 2, again.Count);
    }

    /// <summary>
    /// Reads take no lock, and a writer deletes the nodes of the trie it replaces: a read must get the record and its
    /// nodes from one point in time, or it would find a node gone.
    /// </summary>
    [Fact]
    public async Task A_read_racing_the_overwrite_of_a_large_set_returns_one_whole_set_or_the_other()
    {
        using var table = Open();
        using var store = new ReplicaStore(_clock, table);
        store.StartIncarnation(1);
        DependencySet Set(string prefix) => DependencySet.Of(Enumerable.Range(0, 200).Select(i =>
            new KeyValuePair<string, Dependency>($"{prefix}{i}", new Dependency(VersionVector.Empty.With(5, i + 1), new WriteTag(i + 1, 1)))));
        var a = Set("a");
        var b = Set("b");
        store.Write("x", "v", a, 1);
        var done = false;
        var reads = 0;
        var reader = Task.Run(() =>
        {
            while (!Volatile.Read(ref done))
            {
                var deps = store.Get("x")!.Dependencies;
                Assert.Equal(200, deps.Count);
                Assert.True(deps["a0"] is not null ^ deps["b0"] is not null);
                Interlocked.Increment(ref reads);
            }
        });
        // At least 400 overwrites, and on until the reader (scheduled late on a busy machine) read 200 times among them.
        for (var i = 0; (i < 400 || Volatile.Read(ref reads) < 200) && !reader.IsCompleted; i++) store.Write("x", "v", i % 2 == 0 ? b : a, 1);
        Volatile.Write(ref done, true);
        await reader.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(reads >= 200);
    }

    [Fact]
    public async Task Commits_waiting_for_an_fsync_share_one()
    {
        using var table = Open(Durability.Fsync);
        using var store = new ReplicaStore(_clock, table);
        store.StartIncarnation(1);
        for (var i = 0; i < 32; i++) store.Write($"k{i}", "v", DependencySet.Empty, 1);
        var waits = Enumerable.Range(0, 32).Select(_ => store.WhenDurableAsync().AsTask()).ToArray();
        await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, table.Syncs);
        Assert.True(store.WhenDurableAsync().IsCompleted, "nothing new to sync: no wait");
    }

    [Fact]
    public void In_process_durability_a_commit_is_acknowledged_without_an_fsync()
    {
        using var table = Open(Durability.Process);
        using var store = new ReplicaStore(_clock, table);
        store.StartIncarnation(1);
        store.Write("k", "v", DependencySet.Empty, 1);
        Assert.True(store.WhenDurableAsync().IsCompleted);
        Assert.Equal(0, table.Syncs);
    }

    [Fact]
    public void A_store_the_engine_finds_corrupt_is_set_aside_and_the_node_starts_empty_owing_a_catch_up()
    {
        WriteKeys(20);
        var store = Path.Combine(_dir, NodeStorage.StoreFolder);
        var manifest = Directory.GetFiles(store, "MANIFEST-*").Single();
        var bytes = File.ReadAllBytes(manifest);
        for (var i = 0; i < bytes.Length; i++) bytes[i] ^= 0xFF;
        File.WriteAllBytes(manifest, bytes);

        var opened = NodeStorage.Open(new NodeOptions { DataDirectory = _dir });
        using (opened.Table)
        {
            Assert.True(opened.LostState);
            Assert.NotNull(opened.SetAside);
            Assert.Equal(0, opened.Table.Count);
            Assert.Null(opened.Table.Get("k1"));
        }
        Assert.Single(Directory.GetDirectories(_dir, NodeStorage.StoreFolder + ".corrupt-*"));
    }

    [Fact]
    public void A_data_directory_of_the_json_lines_log_is_imported_once_and_the_log_set_aside()
    {
        var v = new StoredVersion("old", new WriteTag(10, 1), VersionVector.Empty.With(7, 2), DependencySet.Empty);
        using (var log = new WriteAheadLog(_dir))
        {
            log.Write("a", v, 7, 1);
            log.Write("b", v, 7, 2);
            log.Removed("b");
        }
        File.AppendAllText(Path.Combine(_dir, WriteAheadLog.FileName), "{\"k\":\"c\",\"v\":{"); // torn by a crash mid-append

        var opened = NodeStorage.Open(new NodeOptions { DataDirectory = _dir });
        using (opened.Table)
        {
            Assert.Equal(new LegacyImportResult(1, 1, TornTail: true), opened.Imported);
            Assert.False(opened.LostState);
            Assert.Equal("old", opened.Table.Get("a")!.Value);
            Assert.Null(opened.Table.Get("b"));
            Assert.Equal(2, opened.Table.LoadApplied().Get(7));
        }
        Assert.False(File.Exists(Path.Combine(_dir, WriteAheadLog.FileName)));
        Assert.True(File.Exists(Path.Combine(_dir, WriteAheadLog.FileName + LegacyLogImport.ImportedSuffix)));
        var reopened = NodeStorage.Open(new NodeOptions { DataDirectory = _dir });
        using (reopened.Table)
        {
            Assert.Null(reopened.Imported);
            Assert.Equal("old", reopened.Table.Get("a")!.Value);
        }
    }
}
