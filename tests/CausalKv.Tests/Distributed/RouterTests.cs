using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>Two shards of two replicas behind the router: shard0 = nodes 0 and 1, shard1 = nodes 2 and 3.</summary>
public sealed class RouterClusterFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() => RouterTests.Cluster();

    public HttpClient Router => Client("router");
}

/// <summary>
/// The router as clients see it: one address for the whole cluster. Tests that only read and write their own keys
/// share one cluster (each under a prefix of its own); tests that kill nodes or change the view start their own.
/// </summary>
public sealed partial class RouterTests(RouterClusterFixture cluster, ITestOutputHelper output) : IClassFixture<RouterClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private volatile bool _routerWarning;

    internal static KvApp.Builder Cluster() =>
        KvApp.Create(nodes: 4, shards: 2).WithNodeSetting("CausalWaitDeadline", "00:00:20");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => cluster.App.HealAllAsync();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    [Fact]
    public async Task Every_key_written_through_the_router_lands_on_its_owner_shard()
    {
        var keys = Enumerable.Range(0, 500).ToDictionary(i => $"{_p}k{i}", i => $"v{i}");
        await ShardAssertions.LoadAsync(_ => cluster.Router, [0], keys);
        Step($"{keys.Count} keys written through the router");

        // Each node's own GET /data holds exactly this test's keys of its shard (and no key of another shard at all),
        // and every key is on one shard.
        await ShardAssertions.EveryKeyOnItsOwnerAsync(cluster.App, cluster.Client, keys, Settle, prefix: _p);
        var ring = new HashRing(cluster.App.Layout.Keys);
        Assert.All(cluster.App.Layout.Keys, shard => Assert.Contains(keys.Keys, k => ring.ShardFor(k) == shard));
        // And the router reads back what it wrote.
        var session = new KvSession();
        foreach (var key in keys.Keys.Take(50))
        {
            var read = await session.GetAsync(cluster.Router, key);
            Assert.Equal(HttpStatusCode.OK, read.Status);
            Assert.Equal(keys[key], read.Value);
        }
    }

    [Fact]
    public async Task Killing_one_replica_of_each_shard_under_load_loses_no_write_the_router_acknowledged()
    {
        await using var app = await OwnClusterAsync();
        using var clients = new Clients(app);
        var router = clients["router"];
        var writers = Enumerable.Range(0, 4).Select(w => new Writer(w, _p)).ToArray();
        using var stop = new CancellationTokenSource();
        var running = writers.Select(w => w.RunAsync(router, stop.Token)).ToArray();
        long killStart = 0, killEnd = 0;
        string[] killed = ["node0", "node2"];
        try
        {
            await Eventually.HoldsAsync(() => Task.FromResult(writers.All(w => w.Acknowledged >= 20)), Settle, "every writer had 20 writes acknowledged before the kill");
            Step($"before the kill: {writers.Sum(w => w.Acknowledged)} writes acknowledged");

            killStart = Stopwatch.GetTimestamp();
            await Task.WhenAll(killed.Select(app.KillResourceAsync));
            killEnd = Stopwatch.GetTimestamp();
            Step("killed node0 (shard0) and node2 (shard1)");

            // Keep writing for a few seconds, until every writer was answered again many times.
            var counts = writers.Select(w => w.Acknowledged).ToArray();
            await Eventually.HoldsAsync(() => Task.FromResult(
                    Stopwatch.GetElapsedTime(killEnd) >= TimeSpan.FromSeconds(3) && writers.All(w => w.Acknowledged >= counts[w.Id] + 50)),
                Settle, "every writer had 50 more writes acknowledged after the kill");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running);
        }

        var all = writers.SelectMany(w => w.Outcomes).ToList();
        var failed = all.Where(o => !o.Acknowledged).ToList();
        var inFlightAtKill = all.Where(o => o.Started < killEnd && o.Ended > killStart).ToList();
        var failedOutsideKill = failed.Where(o => !(o.Started < killEnd && o.Ended > killStart)).ToList();
        Step($"{all.Count} writes through the router: {all.Count - failed.Count} answered 2xx, {failed.Count} not " +
             $"({failed.Count - failedOutsideKill.Count} of them in flight at the kill, {inFlightAtKill.Count} writes were in flight then); " +
             $"{all.Count(o => o.Acknowledged && o.Started > killEnd)} answered 2xx after the kill");
        foreach (var o in failed.Take(10)) Step($"  not 2xx: {o.Key} -> {o.Status} {o.Error}");
        Assert.True(failedOutsideKill.Count == 0,
            $"the router failed writes it sent after the kill: {string.Join("; ", failedOutsideKill.Take(5).Select(o => $"{o.Key} {o.Status} {o.Error}"))}");

        // The killed replicas come back (their logs hold what they acknowledged), then every acknowledged write is read
        // back through the router with its writer's metadata: a write that a killed replica had not pushed yet makes the
        // read wait for it rather than miss it.
        await Task.WhenAll(killed.Select(name => app.StartResourceAsync(name)));
        Step("node0 and node2 restarted");
        await Task.WhenAll(writers.Select(async w =>
        {
            foreach (var o in w.Outcomes.Where(o => o.Acknowledged))
            {
                var read = await w.Session.GetAsync(router, o.Key);
                Assert.True(read.Status == HttpStatusCode.OK && read.Value == o.Value,
                    $"{o.Key} was acknowledged with {o.Status} but reads {(int)read.Status} {read.Value ?? read.Error}");
            }
        }));
        Step($"all {all.Count - failed.Count} acknowledged writes read back");
    }

    [Fact]
    public async Task A_view_change_through_the_router_is_followed()
    {
        await using var app = await OwnClusterAsync();
        using var clients = new Clients(app);
        var router = clients["router"];
        var keys = Enumerable.Range(0, 300).ToDictionary(i => $"{_p}v{i}", i => $"before-{i}");
        await ShardAssertions.LoadAsync(_ => router, [0], keys);
        var before = await RouterEpochAsync(router);

        // A third shard out of node 3: a third of the keys move to it. (The app's own Layout does not see a change
        // made through the router, so owners come from the layout sent.)
        var layout = new Dictionary<string, int[]>(StringComparer.Ordinal) { ["shard0"] = [0, 1], ["shard1"] = [2], ["shard2"] = [3] };
        using var put = new HttpRequestMessage(HttpMethod.Put, "/view") { Content = Json(app.ViewBody(layout, null).ToJsonString()) };
        put.Headers.Add(CausalKv.Protocol.ProtocolHeaders.ClusterKey, app.ClusterKey);
        using var response = await router.SendAsync(put);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Step($"PUT /view at the router: {(int)response.StatusCode} {answer.ToJsonString()[..Math.Min(300, answer.ToJsonString().Length)]}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var epoch = answer["epoch"]!.GetValue<long>();
        Assert.True(epoch > before, $"the new view's epoch {epoch} is above the old {before}");
        Assert.Equal(4, answer["nodes"]!.AsArray().Count);
        Assert.All(answer["nodes"]!.AsArray(), n => Assert.Equal(200, n!["status"]!.GetValue<int>()));

        await Eventually.HoldsAsync(async () => await RouterEpochAsync(router) == epoch, TimeSpan.FromSeconds(5), "the router's GET /view shows the new epoch");
        var shown = JsonNode.Parse(await router.GetStringAsync("/view"))!["view"]!.AsObject();
        Assert.Equal(new[] { "shard0", "shard1", "shard2" }, shown.Select(s => s.Key).Order(StringComparer.Ordinal));

        // Every key still reads through the router, and new writes land by the new view.
        var session = new KvSession();
        foreach (var (key, value) in keys)
        {
            var read = await session.GetAsync(router, key);
            Assert.True(read.Status == HttpStatusCode.OK && read.Value == value, $"{key} reads {(int)read.Status} {read.Value ?? read.Error}");
        }
        var after = Enumerable.Range(0, 60).ToDictionary(i => $"{_p}after{i}", i => $"after-{i}");
        foreach (var (key, value) in after)
        {
            var write = await session.PutAsync(router, key, value);
            Assert.True(write.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"{key}: {(int)write.Status} {write.Error}");
        }
        await EveryKeyOnItsOwnerAsync(layout, clients, keys.Concat(after).ToDictionary());
    }

    [Fact]
    public async Task Get_all_through_the_router_is_the_union_of_the_shards()
    {
        var router = cluster.Router;
        var session = new KvSession();
        var keys = Enumerable.Range(0, 80).ToDictionary(i => $"{_p}u{i}", i => $"u{i}");
        foreach (var (key, value) in keys) Assert.True((await session.PutAsync(router, key, value)).Status is HttpStatusCode.OK or HttpStatusCode.Created);
        var ring = new HashRing(cluster.App.Layout.Keys);
        Assert.All(cluster.App.Layout.Keys, shard => Assert.Contains(keys.Keys, k => ring.ShardFor(k) == shard));

        string? problem = null;
        await Eventually.HoldsAsync(async () =>
        {
            var all = await session.GetAllAsync(router);
            if (all.Status != HttpStatusCode.OK) { problem = $"router answered {(int)all.Status} {all.Error}"; return false; }
            var items = all.Body["items"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>());
            // The shards' own answers: every replica of a shard must agree, and the router's answer is their union.
            var union = new Dictionary<string, string>();
            foreach (var (shard, ids) in cluster.App.Layout)
            {
                var replicas = await Task.WhenAll(ids.Select(id => ShardAssertions.ItemsAsync(cluster.Node(id))));
                if (replicas.Any(r => !r.OrderBy(kv => kv.Key).SequenceEqual(replicas[0].OrderBy(kv => kv.Key))))
                {
                    problem = $"the replicas of {shard} do not agree yet";
                    return false;
                }
                foreach (var (key, value) in replicas[0]) union.Add(key, value);
            }
            var missing = union.Keys.Where(k => !items.TryGetValue(k, out var v) || v != union[k]).Take(3).ToList();
            var extra = items.Keys.Where(k => !union.ContainsKey(k)).Take(3).ToList();
            problem = $"router has {items.Count} items, the shards {union.Count}; missing {string.Join(", ", missing)}; extra {string.Join(", ", extra)}";
            return missing.Count == 0 && extra.Count == 0 && keys.All(kv => items.TryGetValue(kv.Key, out var v) && v == kv.Value);
        }, Settle, "GET /data through the router equals the union of the shards: " + problem);
        Assert.NotNull(session.Metadata);
    }

    public static TheoryData<string, string> BadPuts => new()
    {
        { "malformed JSON", "{\"value\": \"1\"" },
        { "not an object", "[1,2]" },
        { "no body", "" },
        { "number value", "{\"value\": 5}" },
        { "no value", "{\"causal-metadata\": {}}" },
        { "foreign metadata", "{\"value\": \"1\", \"causal-metadata\": {\"vector\": [1, 2, 3]}}" },
        { "other cluster's metadata", "{\"value\": \"1\", \"causal-metadata\": {\"ckv\": \"0123456789abcdef\", \"d\": {}}}" },
        { "metadata not an object", "{\"value\": \"1\", \"causal-metadata\": \"abc\"}" },
    };

    [Theory]
    [MemberData(nameof(BadPuts))]
    public async Task Bad_input_through_the_router_is_answered_like_a_node_and_changes_nothing(string what, string body)
    {
        var digests = await DigestsAsync();
        var key = $"{_p}bad";
        using var atNode = await cluster.Node(1).PutAsync($"/data/{key}", Json(body));
        using var atRouter = await cluster.Router.PutAsync($"/data/{key}", Json(body));
        Assert.Equal(HttpStatusCode.BadRequest, atNode.StatusCode);
        Assert.Equal(atNode.StatusCode, atRouter.StatusCode);
        var error = JsonNode.Parse(await atRouter.Content.ReadAsStringAsync())!["error"]?.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(error), what);
        Assert.Equal(digests, await DigestsAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().GetAsync(cluster.Router, key)).Status);
    }

    [Fact]
    public async Task Metadata_altered_by_a_client_is_refused_through_the_router_and_at_a_node()
    {
        var session = new KvSession();
        var key = $"{_p}signed";
        await session.PutAsync(cluster.Router, key, "1");
        var all = await session.GetAllAsync(cluster.Router); // the router merges and signs the shards' metadata
        Assert.Equal(HttpStatusCode.OK, all.Status);
        var id = CausalKv.Causality.CausalMetadataCodec.ClusterIdFor(cluster.App.ClusterKey);
        var forged = $$$"""{"ckv":"{{{id}}}","d":{"{{{key}}}":{"c":{"4398046511105":99},"t":[1,0]}},"m":"AAAAAAAAAAAAAAAAAAAAAA"}""";
        var digests = await DigestsAsync();
        foreach (var target in new[] { cluster.Router, cluster.Node(0) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/data/{key}")
            {
                Content = Json($$"""{"causal-metadata":{{forged}}}"""),
            };
            using var response = await target.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("integrity", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
            using var getAll = new HttpRequestMessage(HttpMethod.Get, "/data") { Content = Json($$"""{"causal-metadata":{{forged}}}""") };
            using var allResponse = await target.SendAsync(getAll);
            Assert.Equal(HttpStatusCode.BadRequest, allResponse.StatusCode);
        }
        Assert.Equal(digests, await DigestsAsync());
        Assert.Equal("1", (await session.GetAsync(cluster.Router, key)).Value);
    }

    [Fact]
    public async Task Oversized_and_malformed_requests_are_refused_through_the_router_and_change_nothing()
    {
        var digests = await DigestsAsync();
        var router = cluster.Router;
        var key = $"{_p}big";
        using (var response = await router.PutAsync($"/data/{key}", Json($"{{\"value\":\"{new string('a', 1024 * 1024 + 1)}\"}}")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("error", await response.Content.ReadAsStringAsync());
        }
        // Over the body limit (6 bytes per byte of value, plus 1 MiB): refused by the router itself before it is read whole.
        using (var response = await router.PutAsync($"/data/{key}", Json($"{{\"value\":\"{new string('a', 8 * 1024 * 1024)}\"}}")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.False(string.IsNullOrWhiteSpace(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]?.GetValue<string>()));
        }
        var longKey = new string('k', 1025);
        using (var atNode = await cluster.Node(0).PutAsync($"/data/{longKey}", Json("{\"value\":\"v\"}")))
        using (var atRouter = await router.PutAsync($"/data/{longKey}", Json("{\"value\":\"v\"}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, atNode.StatusCode);
            Assert.Equal(atNode.StatusCode, atRouter.StatusCode);
        }
        using (var broken = new HttpRequestMessage(HttpMethod.Get, $"/data/{key}"))
        {
            broken.Headers.Add("X-Causal-Metadata", "{not json");
            using var response = await router.SendAsync(broken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        using (var unknown = await router.PostAsync("/data/x", Json("{}")))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, unknown.StatusCode);
            Assert.Contains("error", await unknown.Content.ReadAsStringAsync());
        }
        using (var view = await router.PutAsync("/view", Json("{\"view\": {\"s\": []}}")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, view.StatusCode);
        }
        Assert.Equal(digests, await DigestsAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().GetAsync(router, key)).Status);
    }

    private async Task<string[]> DigestsAsync() =>
        await Task.WhenAll(cluster.App.Nodes.Select(n => cluster.Client(n.Name).GetStringAsync("/admin/digest")));

    private async Task<KvApp> OwnClusterAsync()
    {
        // The router's warnings (replicas ruled out, failed forwards) go to the test output.
        var app = await Cluster().StartAsync();
        app.WatchConsole("router", RouterWarnings);
        Step("own cluster started");
        return app;
    }

    private void RouterWarnings(string line)
    {
        // The simple console format: a "warn: Category" line, then the message indented on the next lines.
        if (!line.StartsWith("  ", StringComparison.Ordinal)) _routerWarning = line.StartsWith("warn", StringComparison.Ordinal) || line.StartsWith("fail", StringComparison.Ordinal);
        if (!_routerWarning) return;
        try { output.WriteLine($"[router] {line}"); }
        catch (InvalidOperationException) { } // the test has ended
    }

    private static async Task<long> RouterEpochAsync(HttpClient router) =>
        (await router.GetFromJsonAsync<JsonElement>("/view")).GetProperty("epoch").GetInt64();

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>As <see cref="ShardAssertions.EveryKeyOnItsOwnerAsync"/>, for a layout the app did not install itself.</summary>
    private static async Task EveryKeyOnItsOwnerAsync(Dictionary<string, int[]> layout, Clients clients, IReadOnlyDictionary<string, string> expected)
    {
        var ring = new HashRing(layout.Keys);
        string? problem = null;
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var (shard, ids) in layout)
            {
                var want = expected.Where(kv => ring.ShardFor(kv.Key) == shard).ToDictionary();
                foreach (var id in ids)
                {
                    var items = await ShardAssertions.ItemsAsync(clients[$"node{id}"]);
                    var foreign = items.Keys.FirstOrDefault(k => ring.ShardFor(k) != shard);
                    if (foreign is not null) { problem = $"node{id} of {shard} serves {foreign} of {ring.ShardFor(foreign)}"; return false; }
                    var missing = want.Keys.Where(k => !items.TryGetValue(k, out var v) || v != want[k]).Take(3).ToList();
                    if (missing.Count > 0) { problem = $"node{id} of {shard} lacks {string.Join(", ", missing)}"; return false; }
                    var extra = items.Keys.Where(k => !want.ContainsKey(k)).Take(3).ToList();
                    if (extra.Count > 0) { problem = $"node{id} holds unexpected {string.Join(", ", extra)}"; return false; }
                }
            }
            return true;
        }, Settle, "every key on its owner shard under the new view: " + problem);
    }

    /// <summary>HttpClients for one app's resources, made on first use.</summary>
    private sealed class Clients(KvApp app) : IDisposable
    {
        private readonly ConcurrentDictionary<string, HttpClient> _clients = new();

        public HttpClient this[string name] => _clients.GetOrAdd(name, n => app.CreateHttpClient(n, TimeSpan.FromSeconds(60)));

        public void Dispose()
        {
            foreach (var client in _clients.Values) client.Dispose();
        }
    }

    /// <summary>One client session writing new keys through the router, one at a time, recording every answer.</summary>
    private sealed class Writer(int id, string prefix)
    {
        private int _acknowledged;

        public int Id { get; } = id;

        public KvSession Session { get; } = new();

        public List<Outcome> Outcomes { get; } = [];

        public int Acknowledged => Volatile.Read(ref _acknowledged);

        public async Task RunAsync(HttpClient router, CancellationToken stop)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (key, value) = ($"{prefix}w{Id}-{i}", $"value-{Id}-{i}");
                var started = Stopwatch.GetTimestamp();
                int status;
                string? error;
                try
                {
                    var answer = await Session.PutAsync(router, key, value, CancellationToken.None);
                    (status, error) = ((int)answer.Status, answer.Error);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or JsonException)
                {
                    (status, error) = (0, e.Message);
                }
                var outcome = new Outcome(key, value, status, error, started, Stopwatch.GetTimestamp());
                lock (Outcomes) Outcomes.Add(outcome);
                if (outcome.Acknowledged) Interlocked.Increment(ref _acknowledged);
            }
        }
    }

    [Fact]
    public async Task Paging_through_the_router_lists_every_key_of_every_shard_once_shard_by_shard_and_the_session_follows_the_pages()
    {
        var router = cluster.Router;
        var writer = new KvSession();
        var keys = Enumerable.Range(0, 60).Select(i => $"{_p}p{i}").ToList();
        foreach (var k in keys) Assert.True((await writer.PutAsync(router, k, "v" + k)).Status is HttpStatusCode.Created or HttpStatusCode.OK);
        await writer.PutAsync(router, $"{_p}q", "other prefix");
        var ring = new HashRing(cluster.App.Layout.Keys);
        Assert.All(cluster.App.Layout.Keys, shard => Assert.Contains(keys, k => ring.ShardFor(k) == shard));

        var reader = new KvSession();
        var (items, pages) = await reader.ListAsync(router, _p + "p", limit: 7);
        Step($"{items.Count} keys in {pages} pages");
        // Shards in ordinal order of their names, each shard's keys in key order.
        var expected = keys.OrderBy(k => ring.ShardFor(k), StringComparer.Ordinal).ThenBy(k => k, CausalKv.Storage.KeyOrder.Instance);
        Assert.Equal(expected, items.Select(kv => kv.Key));
        Assert.All(items, kv => Assert.Equal("v" + kv.Key, kv.Value));
        Assert.InRange(pages, 9, 11);
        // What the pages showed is in the session's past at every replica: each read answers at once with it.
        foreach (var node in Enumerable.Range(0, 4))
        {
            var read = await reader.GetAsync(cluster.Node(node), keys[node * 7]).WaitAsync(Settle);
            Assert.Equal("v" + keys[node * 7], read.Value);
        }
    }

    private sealed record Outcome(string Key, string Value, int Status, string? Error, long Started, long Ended)
    {
        public bool Acknowledged => Status is >= 200 and <= 299;
    }
}
