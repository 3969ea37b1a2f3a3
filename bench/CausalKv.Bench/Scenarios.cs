using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Hosting;
using CausalKv.Tests.Distributed;

namespace CausalKv.Bench;

/// <summary>The benchmark scenarios; each starts its own cluster: the AppHost through Aspire.Hosting.Testing.</summary>
internal static class Scenarios
{
    private static Task<KvApp> PairAsync() =>
        KvApp.Create(nodes: 2, shards: 1).WithoutRouter().StartAsync();

    /// <summary>Bytes per gossip round for an in-sync pair, as the key count grows.</summary>
    public static async Task GossipAsync(Report report)
    {
        await using var app = await PairAsync();
        using var n0 = app.CreateHttpClient("node0");
        using var n1 = app.CreateHttpClient("node1");
        var loaded = 0;
        foreach (var k in new[] { 1_000, 10_000, 100_000 })
        {
            await Cluster.LoadAsync(n0, Enumerable.Range(loaded, k - loaded).Select(i => $"g{i}"));
            loaded = k;
            await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(60));
            await Task.Delay(1000); // let in-flight pushes settle so the window holds only gossip
            var a0 = await Cluster.CountersAsync(app, "node0");
            var a1 = await Cluster.CountersAsync(app, "node1");
            await Task.Delay(5000);
            var b0 = await Cluster.CountersAsync(app, "node0");
            var b1 = await Cluster.CountersAsync(app, "node1");
            var rounds = (b0.GossipRounds - a0.GossipRounds) + (b1.GossipRounds - a1.GossipRounds);
            var bytes = (b0.GossipBytes - a0.GossipBytes) + (b1.GossipBytes - a1.GossipBytes);
            var repl = (b0.ReplicationBytes - a0.ReplicationBytes) + (b1.ReplicationBytes - a1.ReplicationBytes);
            report.Add(new()
            {
                ["keys"] = k,
                ["gossip rounds (5 s, both nodes)"] = rounds,
                ["bytes per round (request + answer)"] = rounds == 0 ? 0 : (double)bytes / rounds,
                ["replication bytes in window"] = repl,
            });
        }
    }

    /// <summary>Time and bytes from heal to equal replicas, for a pair that diverged by D keys.</summary>
    public static async Task ConvergenceAsync(Report report)
    {
        await using var app = await PairAsync();
        using var n0 = app.CreateHttpClient("node0");
        using var n1 = app.CreateHttpClient("node1");
        await Cluster.LoadAsync(n0, Enumerable.Range(0, 1000).Select(i => $"base{i}"));
        await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(30));
        foreach (var d in new[] { 100, 1_000, 10_000 })
        {
            await app.CutAsync(0, 1);
            await Cluster.LoadAsync(n0, Enumerable.Range(0, d).Select(i => $"div{d}-{i}"));
            var before0 = await Cluster.CountersAsync(app, "node0");
            var before1 = await Cluster.CountersAsync(app, "node1");
            await app.HealAsync(0, 1);
            var took = await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(60), pollMs: 5);
            var after0 = await Cluster.CountersAsync(app, "node0");
            var after1 = await Cluster.CountersAsync(app, "node1");
            var bytes = (after0.BytesSent - before0.BytesSent) + (after1.BytesSent - before1.BytesSent);
            report.Add(new()
            {
                ["diverged keys"] = d,
                ["heal to equal (ms)"] = took.TotalMilliseconds,
                ["bytes exchanged"] = bytes,
                ["bytes per diverged key"] = (double)bytes / d,
            });
        }
    }

    private static readonly long MetadataRssLimit = 3L << 30;
    private static readonly TimeSpan MetadataTimeLimit = TimeSpan.FromSeconds(120);

    /// <summary>Causal-metadata size after a session touched N keys, with replicas in touch and while cut off.</summary>
    public static async Task MetadataAsync(Report report)
    {
        await using var app = await PairAsync();
        using var n0 = app.CreateHttpClient("node0");
        using var n1 = app.CreateHttpClient("node1");
        var node0Pid = await app.ProcessIdAsync("node0");
        foreach (var cut in new[] { false, true })
        {
            if (cut) await app.CutAsync(0, 1);
            foreach (var n in new[] { 10, 1_000, 10_000 })
            {
                JsonNode? meta = null;
                var max = 0;
                var written = 0;
                var clock = Stopwatch.StartNew();
                string? stopped = null;
                for (var i = 0; i < n; i++, written++)
                {
                    // Cut off, every write stores the session's dependencies (one per key written so far): memory and
                    // time grow as N squared. Stop before the node takes the machine down, and say so.
                    if (i % 100 == 0 && (Cluster.RssBytes(node0Pid) > MetadataRssLimit || clock.Elapsed > MetadataTimeLimit))
                    {
                        stopped = $"stopped after {i} writes: node0 RSS {Cluster.RssBytes(node0Pid) / 1048576} MiB after {clock.Elapsed.TotalSeconds:0} s";
                        break;
                    }
                    var body = new JsonObject { ["value"] = Cluster.Value100, ["causal-metadata"] = meta?.DeepClone() };
                    using var response = await n0.PutAsync($"/data/meta{(cut ? "c" : "t")}{n}-{i}", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
                    meta = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["causal-metadata"];
                    max = Math.Max(max, Cluster.MetadataBytes(meta));
                }
                report.Add(new()
                {
                    ["replicas"] = cut ? "cut off" : "in touch",
                    ["keys written by the session"] = n,
                    ["metadata bytes at the end"] = Cluster.MetadataBytes(meta),
                    ["largest metadata seen (bytes)"] = max,
                    ["dependencies at the end"] = meta?["d"]?.AsObject().Count ?? 0,
                    ["node0 RSS after (MiB)"] = Cluster.RssBytes(node0Pid) / 1048576.0,
                    ["seconds"] = clock.Elapsed.TotalSeconds,
                    ["note"] = stopped ?? $"all {written} writes",
                });
            }
            if (cut) await app.HealAsync(0, 1);
        }
    }

    /// <summary>Bulk-load rate into a five-node, two-shard cluster: to each key's owner, and spread over all nodes (forwarding).</summary>
    public static async Task LoadAsync(Report report)
    {
        await using var app = await KvApp.Create(nodes: 5, shards: 2).WithoutRouter().StartAsync();
        var clients = Enumerable.Range(0, 5).Select(i => app.CreateHttpClient($"node{i}")).ToArray();
        var ring = new CausalKv.Sharding.HashRing(app.Layout.Keys);
        foreach (var spread in new[] { false, true })
        {
            var keys = Enumerable.Range(0, 3000).Select(i => $"load{spread}{i}").ToList();
            var sw = Stopwatch.StartNew();
            using var gate = new SemaphoreSlim(16);
            var n = 0;
            await Task.WhenAll(keys.Select(async k =>
            {
                await gate.WaitAsync();
                try
                {
                    var node = spread ? clients[Interlocked.Increment(ref n) % 5] : clients[app.Layout[ring.ShardFor(k)][0]];
                    using var r = await node.PutAsync($"/data/{k}", new StringContent("{\"value\":\"v\"}", Encoding.UTF8, "application/json"));
                    r.EnsureSuccessStatusCode();
                }
                finally { gate.Release(); }
            }));
            report.Add(new() { ["target"] = spread ? "any node (forwarding)" : "owner", ["writes/s"] = keys.Count / sw.Elapsed.TotalSeconds });
        }
        foreach (var c in clients) c.Dispose();
    }

    /// <summary>Resident memory of a node per 1e5 keys of 100-byte values.</summary>
    public static async Task MemoryAsync(Report report)
    {
        await using var app = await PairAsync();
        using var n0 = app.CreateHttpClient("node0");
        using var n1 = app.CreateHttpClient("node1");
        var node0Pid = await app.ProcessIdAsync("node0");
        await Task.Delay(2000);
        var idle = Cluster.RssBytes(node0Pid);
        await Cluster.LoadAsync(n0, Enumerable.Range(0, 100_000).Select(i => $"mem{i}"));
        await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(60));
        await Task.Delay(2000);
        var loaded = Cluster.RssBytes(node0Pid);
        report.Add(new()
        {
            ["idle node RSS (MiB)"] = idle / 1048576.0,
            ["RSS with 1e5 keys (MiB)"] = loaded / 1048576.0,
            ["RSS per 1e5 keys (MiB)"] = (loaded - idle) / 1048576.0,
            ["bytes per key"] = (loaded - idle) / 100_000.0,
        });
    }
}
