using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CausalKv.Sharding;
using CausalKv.Tests.Deployment;
using CausalKv.Tests.Distributed;
using Xunit.Abstractions;

namespace CausalKv.Tests.ManyHosts;

/// <summary>
/// CausalKv with every node and router on a host of its own (a network namespace with its own address, reaching the
/// others by name), each started with the environment deploy/kubernetes gives its pod: the cluster forms from the
/// declaration alone; a host cut off from all others serves what it can and converges after the heal; a host
/// replaced under its name at a new address with an empty disk catches up; the declaration scales the cluster out
/// from 2 to 3 shards and back while a client writes. Needs root (CI runs as root).
/// Figures go to the test output; MANY_HOSTS_KEYS sets the keys written (default 2,000; the README quotes 1e5).
/// </summary>
public sealed class ManyHostsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private static readonly int Keys = int.TryParse(Environment.GetEnvironmentVariable("MANY_HOSTS_KEYS"), out var k) ? k : 2000;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly string _p = Guid.NewGuid().ToString("N")[..6] + "-";

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    [Fact]
    public async Task Pods_started_with_the_manifest_environment_answer_their_probes_and_the_cluster_forms_from_the_declaration_alone()
    {
        await using var cluster = await StartAsync();
        await Explained(cluster, async () =>
        {
            foreach (var host in cluster.Network.Hosts.Select(h => h.Name))
            {
                using var client = cluster.Client(host);
                await Eventually.HoldsAsync(() => PodCluster.AnswersAsync(client, "/alive", HttpStatusCode.OK), Patience, $"{host} answers /alive");
                // A probe path that exists: 200 when ready, a JSON 503 while not (never a 404).
                await Eventually.HoldsAsync(() => PodCluster.AnswersAsync(client, "/health", HttpStatusCode.OK), Patience, $"{host} is ready");
            }
            Step("every pod answers /alive, and /health says ready");
            using var node = cluster.Client("kv-1");
            var status = await node.GetFromJsonAsync<JsonElement>("/admin/status");
            Assert.Equal(1, status.GetProperty("node").GetInt32()); // its id is its pod's ordinal
            var view = await node.GetFromJsonAsync<JsonElement>("/view");
            var addresses = view.GetProperty("view").EnumerateObject().SelectMany(s => s.Value.EnumerateArray())
                .Select(n => n.GetProperty("address").GetString()).Order().ToList();
            Assert.Equal(Enumerable.Range(0, 4).Select(i => $"kv-{i}.kv-nodes:8080"), addresses); // names, not addresses

            // Both routers serve one session: a write through one is read through the other.
            using var r0 = cluster.Client("kv-router-0");
            using var r1 = cluster.Client("kv-router-1");
            var session = new KvSession();
            for (var i = 0; i < 50; i++) Assert.Equal(HttpStatusCode.Created, (await session.PutAsync(i % 2 == 0 ? r0 : r1, $"{_p}k{i}", $"v{i}")).Status);
            for (var i = 0; i < 50; i++) Assert.Equal($"v{i}", (await session.GetAsync(i % 2 == 0 ? r1 : r0, $"{_p}k{i}")).Value);
        });
    }

    [Fact]
    public async Task A_host_cut_off_from_all_others_keeps_serving_what_it_can_and_converges_after_the_heal()
    {
        await using var cluster = await StartAsync();
        await Explained(cluster, async () =>
        {
            using var router = cluster.Client("kv-router-0");
            using var kv0 = cluster.Client("kv-0", TimeSpan.FromSeconds(15));
            var ring = await RingAsync(router);
            var shard0 = await ShardOfAsync(kv0);
            var mine = Enumerable.Range(0, 4000).Select(i => $"{_p}c{i}").Where(key => ring.ShardFor(key) == shard0).Take(200).ToList();

            await cluster.Network.CutOffAsync("kv-0");
            var cut = Stopwatch.StartNew();
            Step("kv-0 cut off from every other host");
            // kv-0 takes writes of its shard's keys at once (it never waits for a replica it cannot reach) ...
            var local = new KvSession();
            foreach (var key in mine.Take(100))
                Assert.Equal(HttpStatusCode.Created, (await local.PutAsync(kv0, key, "from-kv0")).Status);
            // ... and answers reads of what it holds, while the router serves the shard through its other replica.
            Assert.Equal("from-kv0", (await local.GetAsync(kv0, mine[0])).Value);
            var remote = new KvSession();
            foreach (var key in mine.Skip(100))
            {
                // A write the router sent to kv-0 just as it was cut off may fail (it cannot know whether it was
                // applied, so it does not re-send it): the client writes it again, and the router has moved to kv-1.
                await Eventually.HoldsAsync(async () => (await remote.PutAsync(router, key, "via-router")).Status is HttpStatusCode.Created or HttpStatusCode.OK,
                    Patience, $"the router takes the write of {key} while kv-0 is cut off");
            }
            Step($"100 writes at kv-0 and 100 through the router to its shard while cut ({cut.ElapsedMilliseconds} ms)");

            await cluster.Network.HealAsync("kv-0");
            var healed = Stopwatch.StartNew();
            using var kv1 = cluster.Client(await PeerOfAsync(kv0, shard0));
            await Eventually.HoldsAsync(async () =>
            {
                var (a, b) = (await ItemsAsync(kv0), await ItemsAsync(kv1));
                return mine.All(key => a.GetValueOrDefault(key) is { } v && b.GetValueOrDefault(key) == v);
            }, Patience, "both replicas of kv-0's shard hold every write made on either side of the cut");
            output.WriteLine($"Convergence after the heal: {healed.ElapsedMilliseconds} ms for 200 keys written on both sides of the cut");
            Assert.Equal("from-kv0", (await remote.GetAsync(router, mine[0])).Value);
            Assert.Equal("via-router", (await local.GetAsync(kv0, mine[150])).Value);
        });
    }

    [Fact]
    public async Task A_host_replaced_under_its_name_at_a_new_address_with_an_empty_disk_catches_up()
    {
        await using var cluster = await StartAsync();
        await Explained(cluster, async () =>
        {
            using var router = cluster.Client("kv-router-0");
            var written = await LoadAsync(router, Keys);
            Step($"{Keys} keys written through the router");

            using var kv1 = cluster.Client("kv-1");
            var shard = await ShardOfAsync(kv1);
            var ring = await RingAsync(router);
            var owned = written.Keys.Count(key => ring.ShardFor(key) == shard);
            await cluster.KillAsync("kv-1");
            cluster.WipeVolume("kv-1");
            var before = cluster.Network["kv-1"].Address;
            await cluster.Network.MoveAsync("kv-1", 40);
            Step($"kv-1 gone; its host is back at {cluster.Network["kv-1"].Address} (was {before}) with an empty disk");
            var replaced = Stopwatch.StartNew();
            cluster.Start("kv-1");
            using var moved = cluster.Client("kv-1");
            await Eventually.HoldsAsync(async () => (await ItemsAsync(moved)).Count(kv => written.GetValueOrDefault(kv.Key) == kv.Value) == owned,
                TimeSpan.FromMinutes(5), $"the replaced kv-1 holds all {owned} keys of {shard}");
            output.WriteLine($"Catch-up of a replaced host: {replaced.ElapsedMilliseconds} ms from its start to holding all {owned} keys of its shard ({Keys} keys in the cluster)");
            await Eventually.HoldsAsync(() => PodCluster.AnswersAsync(moved, "/health", HttpStatusCode.OK), Patience, "the replaced kv-1 is ready");
            var session = new KvSession();
            foreach (var (key, value) in written.Where(kv => ring.ShardFor(kv.Key) == shard).Take(50))
                Assert.Equal(value, (await session.GetAsync(moved, key)).Value);
        });
    }

    [Fact]
    public async Task The_declaration_scales_the_cluster_out_from_2_to_3_shards_and_back_while_a_client_writes()
    {
        var three = await RenderedDeployment.RenderAsync("overlays/three-shards");
        await using var cluster = await StartAsync(spareNodes: 2);
        await Explained(cluster, async () =>
        {
            using var r0 = cluster.Client("kv-router-0");
            using var r1 = cluster.Client("kv-router-1");
            var written = await LoadAsync(r1, Keys);
            Step($"{Keys} keys written");

            // A client keeps writing through router 1 while the declaration changes; every write it got acknowledged
            // must be there at the end, with the last value it wrote.
            using var stop = new CancellationTokenSource();
            var acknowledged = new Dictionary<string, string>();
            var writer = Task.Run(async () =>
            {
                var session = new KvSession();
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var (key, value) = ($"{_p}w{i % 300}", $"w{i}");
                    try
                    {
                        var put = await session.PutAsync(r1, key, value);
                        if (put.Status is HttpStatusCode.Created or HttpStatusCode.OK) lock (acknowledged) acknowledged[key] = value;
                    }
                    catch (HttpRequestException) { }
                }
                return session;
            });

            // Scale out: the StatefulSet's two new pods, then router 0 rolled onto the new declaration (router 1 keeps
            // the old one and must stand down rather than undo it).
            cluster.Start("kv-4");
            cluster.Start("kv-5");
            var scaling = Stopwatch.StartNew();
            await cluster.KillAsync("kv-router-0");
            cluster.Start("kv-router-0", three);
            await ReconcilerAsync(r0, r => InSyncAt(r, generation: 2));
            output.WriteLine($"Scale-out 2 -> 3 shards: {scaling.ElapsedMilliseconds} ms from rolling the router to every member holding the new view");
            await ReconcilerAsync(r1, r => r.GetProperty("action").GetString() == "StandDown");
            var moved = await CheckPlacementAsync(cluster, r0, written, 3);
            output.WriteLine($"Keys moved: {moved} of {written.Count} (K/S = {written.Count / 3.0:0})");

            // Back to 2 shards: a declaration of generation 3 with the base's 4 members, then the two pods go.
            var back = cluster.Environment("kv-router-0");
            back["CausalKv__Cluster__Generation"] = "3";
            await cluster.KillAsync("kv-router-0");
            cluster.StartWith("kv-router-0", back);
            scaling.Restart();
            await ReconcilerAsync(r0, r => InSyncAt(r, generation: 3));
            output.WriteLine($"Scale-in 3 -> 2 shards: {scaling.ElapsedMilliseconds} ms");
            await cluster.KillAsync("kv-4");
            await cluster.KillAsync("kv-5");
            await CheckPlacementAsync(cluster, r0, written, 2);

            stop.Cancel();
            var writerSession = await writer;
            Dictionary<string, string> last;
            lock (acknowledged) last = new(acknowledged);
            Assert.True(last.Count > 0, "the client's writes went through during the changes");
            foreach (var (key, value) in last)
                Assert.Equal(value, (await writerSession.GetAsync(r0, key)).Value);
            Step($"the client's {last.Count} keys read back with the last value it wrote");
        });
    }

    private async Task<PodCluster> StartAsync(int spareNodes = 0)
    {
        Assert.True(HostNetwork.WhyUnavailable() is null, HostNetwork.WhyUnavailable());
        var cluster = await PodCluster.CreateAsync(spareNodes: spareNodes);
        Step($"{cluster.Network.Hosts.Count} hosts on bridge {cluster.Network.Bridge} (10.213.{cluster.Network.Subnet}.0/24)");
        var started = Stopwatch.StartNew();
        cluster.StartAll();
        try
        {
            using var router = cluster.Client("kv-router-0");
            var session = new KvSession();
            await Eventually.HoldsAsync(async () =>
            {
                try { return (await session.PutAsync(router, $"{_p}first", "v")).Status is HttpStatusCode.Created or HttpStatusCode.OK; }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
            }, Patience, "the router serves data");
            output.WriteLine($"From namespaces up and processes started to the router serving data: {started.ElapsedMilliseconds} ms");
            await ReconcilerAsync(router, r => r.GetProperty("action").GetString() == "InSync");
            return cluster;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var logs = cluster.Logs();
            await cluster.DisposeAsync();
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{logs}");
        }
    }

    private static async Task Explained(PodCluster cluster, Func<Task> test)
    {
        try { await test(); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException($"{e}\n{cluster.Logs()}");
        }
    }

    private async Task<Dictionary<string, string>> LoadAsync(HttpClient router, int count)
    {
        var keys = Enumerable.Range(0, count).ToDictionary(i => $"{_p}k{i}", i => $"v{i}");
        using var gate = new SemaphoreSlim(16);
        await Task.WhenAll(keys.Select(async kv =>
        {
            await gate.WaitAsync();
            try { Assert.Equal(HttpStatusCode.Created, (await new KvSession().PutAsync(router, kv.Key, kv.Value)).Status); }
            finally { gate.Release(); }
        }));
        return keys;
    }

    /// <summary>Every key of <paramref name="written"/> on exactly the replicas of its shard under the router's view; the keys on a shard new to the layout.</summary>
    private async Task<int> CheckPlacementAsync(PodCluster cluster, HttpClient router, Dictionary<string, string> written, int shards)
    {
        var view = await router.GetFromJsonAsync<JsonElement>("/view");
        var layout = view.GetProperty("view").EnumerateObject()
            .ToDictionary(s => s.Name, s => s.Value.EnumerateArray().Select(n => n.GetProperty("id").GetInt32()).ToArray());
        Assert.Equal(shards, layout.Count);
        var ring = new HashRing(layout.Keys);
        var before = new HashRing(layout.Keys.Order().Take(2));
        var problem = "";
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var (shard, ids) in layout)
                foreach (var id in ids)
                {
                    using var node = cluster.Client(PodCluster.NodeName(id));
                    var items = await ItemsAsync(node);
                    var want = written.Where(kv => ring.ShardFor(kv.Key) == shard).ToList();
                    var lacking = want.Count(kv => items.GetValueOrDefault(kv.Key) != kv.Value);
                    var stray = items.Keys.Count(key => written.ContainsKey(key) && ring.ShardFor(key) != shard);
                    if (lacking + stray > 0) { problem = $"kv-{id} of {shard}: lacks {lacking}, holds {stray} of other shards"; return false; }
                }
            return true;
        }, Patience, $"every key on exactly its shard's replicas ({problem})");
        return written.Keys.Count(key => ring.ShardFor(key) != before.ShardFor(key));
    }

    private static bool InSyncAt(JsonElement reconciler, long generation) =>
        reconciler.GetProperty("action").GetString() == "InSync" && reconciler.GetProperty("generation").GetInt64() == generation
        && ClusterDeclaration.GenerationOf(reconciler.GetProperty("epoch").GetInt64()) == generation;

    private static async Task<JsonElement> ReconcilerAsync(HttpClient router, Func<JsonElement, bool> done)
    {
        JsonElement last = default;
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                var state = await router.GetFromJsonAsync<JsonElement>("/cluster/state");
                if (!state.TryGetProperty("reconciler", out last) || last.ValueKind != JsonValueKind.Object) return false;
                return done(last);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
        }, Patience, "the reconciler reports what was expected: " + last);
        return last;
    }

    private static async Task<HashRing> RingAsync(HttpClient router)
    {
        var view = await router.GetFromJsonAsync<JsonElement>("/view");
        return new HashRing(view.GetProperty("view").EnumerateObject().Select(s => s.Name));
    }

    private static async Task<string> ShardOfAsync(HttpClient node) =>
        (await node.GetFromJsonAsync<JsonElement>("/admin/status")).GetProperty("shard").GetString()!;

    private static async Task<string> PeerOfAsync(HttpClient node, string shard)
    {
        var view = await node.GetFromJsonAsync<JsonElement>("/view");
        var me = (await node.GetFromJsonAsync<JsonElement>("/admin/status")).GetProperty("node").GetInt32();
        var peer = view.GetProperty("view").GetProperty(shard).EnumerateArray().Select(n => n.GetProperty("id").GetInt32()).First(id => id != me);
        return PodCluster.NodeName(peer);
    }

    /// <summary>A replica's whole shard, paged, with no metadata: what it holds.</summary>
    private static async Task<Dictionary<string, string>> ItemsAsync(HttpClient node)
    {
        try
        {
            var (items, _) = await new KvSession().ListAsync(node, "", 1000);
            return items.ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException) { return []; }
    }
}
