using System.Net;
using CausalKv.Client;
using CausalKv.Sharding;
using CausalKv.Tests.Distributed;
using Xunit.Abstractions;

namespace CausalKv.Tests.Client;

/// <summary>Two shards of two replicas behind the router (shard0 = nodes 0 and 1, shard1 = nodes 2 and 3), for the client's tests.</summary>
public sealed class ClientClusterFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() =>
        KvApp.Create(nodes: 4, shards: 2).WithNodeSetting("CausalWaitDeadline", "00:00:20");
}

/// <summary>
/// The client against a cluster started through the AppHost. The tests run one after the other on one cluster; each uses
/// its own keys, and the ones that cut, kill or change the view put the cluster back as it was.
/// </summary>
public sealed partial class ClientClusterTests(ClientClusterFixture cluster, ITestOutputHelper output) : IClassFixture<ClientClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan AfterHeal = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private readonly List<IDisposable> _owned = [];

    private KvApp App => cluster.App;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var d in _owned) d.Dispose();
        await App.HealAllAsync();
    }

    private (CausalKvClient Client, RecordingHandler Sent) Client(CausalKvRouting routing = CausalKvRouting.Direct, string endpoint = "router",
        TimeSpan? viewRefresh = null)
    {
        var handler = new RecordingHandler();
        var client = new CausalKvClient(new CausalKvClientOptions
        {
            Endpoints = [App.Endpoint(endpoint)],
            Routing = routing,
            ViewRefreshInterval = viewRefresh ?? TimeSpan.FromSeconds(5),
        }, handler);
        _owned.Add(client);
        return (client, handler);
    }

    /// <summary>Until the client routes by the cluster's current view (the router's own may lag a poll behind a view change).</summary>
    private async Task CurrentViewAsync(CausalKvClient client) =>
        await Eventually.HoldsAsync(async () => (await client.RefreshViewAsync())?.Epoch == App.Epoch, TimeSpan.FromSeconds(10), "the client has the current view");

    private string Address(int node) => App.Cluster.Node(node).Address;

    private int NodeAt(string address) => App.Nodes.Single(n => n.Address == address).Id;

    /// <summary><paramref name="count"/> fresh keys that the ring puts on <paramref name="shard"/>.</summary>
    private List<string> KeysOf(string shard, int count, string name)
    {
        var ring = new HashRing(App.Layout.Keys);
        return Enumerable.Range(0, 10_000).Select(i => $"{_p}{name}{i}").Where(k => ring.ShardFor(k) == shard).Take(count).ToList();
    }

    [Theory]
    [InlineData(CausalKvRouting.Direct)]
    [InlineData(CausalKvRouting.ViaRouter)]
    public async Task A_listing_with_a_prefix_pages_through_every_shard_and_yields_each_key_once(CausalKvRouting routing)
    {
        var (client, sent) = Client(routing);
        var session = new CausalKvSession();
        var keys = Enumerable.Range(0, 23).Select(i => $"{_p}list:{i}").ToList();
        foreach (var key in keys) await client.PutAsync(session, key, $"v-{key}");
        await client.PutAsync(session, $"{_p}else", "not listed");
        sent.Requests.Clear();

        var listed = new List<KeyValuePair<string, string>>();
        await foreach (var item in client.GetAllAsync(session, $"{_p}list:", pageSize: 4)) listed.Add(item);
        Assert.Equal(keys.Order(StringComparer.Ordinal), listed.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        Assert.All(listed, kv => Assert.Equal($"v-{kv.Key}", kv.Value));
        var pages = sent.DataRequests.Count();
        Assert.InRange(pages, 6, 10);
        output.WriteLine($"{routing}: {pages} page requests");
        // Stopping early fetches no more pages than it needed.
        sent.Requests.Clear();
        Assert.Equal(3, (await client.GetAllAsync(session, $"{_p}list:", pageSize: 4).Take(3).ToListAsync()).Count);
        Assert.Single(sent.DataRequests);
    }

    [Fact]
    public async Task Each_request_goes_straight_to_a_replica_of_the_shard_that_holds_the_key()
    {
        var (client, sent) = Client();
        var session = new CausalKvSession();
        var keys = Enumerable.Range(0, 40).Select(i => $"{_p}k{i}").ToList();
        foreach (var key in keys) await client.PutAsync(session, key, $"v-{key}");

        var router = App.Endpoint("router").Authority;
        var writes = sent.DataRequests.ToList();
        Assert.Equal(keys.Count, writes.Count);
        Assert.DoesNotContain(writes, w => w.Address == router);
        // Every node that took a write holds that key in its own GET /data, which lists only its own shard's keys:
        // the client picked an owner, not a node that forwarded.
        foreach (var group in writes.GroupBy(w => w.Address))
        {
            var held = await ShardAssertions.ItemsAsync(cluster.Node(NodeAt(group.Key)));
            Assert.All(group, w => Assert.Equal($"v-{w.Path["/data/".Length..]}", held.GetValueOrDefault(w.Path["/data/".Length..])));
        }
        Assert.Equal(4, writes.Select(w => w.Address).Distinct().Count());
        foreach (var key in keys) Assert.Equal($"v-{key}", await client.GetAsync(session, key));
        Assert.Equal(keys.Order(StringComparer.Ordinal), (await client.GetAllAsync(session, _p).Select(kv => kv.Key).ToListAsync()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Through_the_router_every_request_goes_to_the_router_and_results_are_the_same()
    {
        var (client, sent) = Client(CausalKvRouting.ViaRouter);
        var session = new CausalKvSession();
        await client.PutAsync(session, $"{_p}a", "1");
        await client.PutAsync(session, $"{_p}b", "2");
        Assert.Equal("1", await client.GetAsync(session, $"{_p}a"));
        Assert.Null(await client.GetAsync(session, $"{_p}missing"));
        Assert.True(await client.DeleteAsync(session, $"{_p}b"));
        Assert.Null(await client.GetAsync(session, $"{_p}b"));
        var all = await client.GetAllAsync(session, _p).ToDictionaryAsync(kv => kv.Key, kv => kv.Value);
        Assert.Equal("1", all[$"{_p}a"]);
        Assert.False(all.ContainsKey($"{_p}b"));
        var router = App.Endpoint("router").Authority;
        Assert.All(sent.Requests, r => Assert.Equal(router, r.Address));
        var refused = await Assert.ThrowsAsync<CausalKvRequestRefusedException>(() => client.PutAsync(session, new string('k', 1025), "v"));
        Assert.Contains("1024", refused.Message);
    }

    [Fact]
    public async Task A_sessions_reads_see_what_it_depends_on_in_another_shard()
    {
        var (client, _) = Client();
        var xs = KeysOf("shard0", 12, "x");
        var y = KeysOf("shard1", 1, "y")[0];
        await App.CutAsync(0, 1);
        // The writer: x_i on whichever replica of shard0 the client picks (each lacks the other's), then y in shard1.
        var writer = new CausalKvSession();
        foreach (var x in xs) await client.PutAsync(writer, x, $"v-{x}");
        await client.PutAsync(writer, y, "after the xs");

        // A reader that saw y depends on every x_i through it: no read of one may miss it.
        var reader = new CausalKvSession();
        await Eventually.HoldsAsync(async () => await client.GetAsync(reader, y) == "after the xs", TimeSpan.FromSeconds(10), "the reader sees y");
        var reads = xs.Select(x => client.GetAsync(reader, x)).ToList();
        await Task.WhenAny(Task.WhenAll(reads), Task.Delay(Grace));
        var waiting = reads.Count(r => !r.IsCompleted);
        output.WriteLine($"{waiting} of {xs.Count} reads wait for their x on the replica that lacks it");
        Assert.All(reads.Where(r => r.IsCompletedSuccessfully), r => Assert.NotNull(r.Result));
        Assert.True(waiting > 0, "some read reached the replica that lacks its x and waited");
        await App.HealAsync(0, 1);
        var values = await Task.WhenAll(reads).WaitAsync(AfterHeal);
        Assert.Equal(xs.Select(x => $"v-{x}"), values);
    }

    [Fact]
    public async Task A_restored_session_continues_the_saved_history_on_another_client()
    {
        var (client, sent) = Client();
        var x = KeysOf("shard0", 1, "saved")[0];
        await App.CutAsync(0, 1);
        var session = new CausalKvSession();
        await client.PutAsync(session, x, "written before saving");
        var took = NodeAt(sent.DataRequests.Last().Address);
        var other = took == 0 ? 1 : 0;
        var saved = session.Save();

        // Another client (another request, another process), pinned to the replica that lacks the write.
        var (pinned, _) = Client(CausalKvRouting.ViaRouter, endpoint: $"node{other}");
        Assert.Null(await pinned.GetAsync(new CausalKvSession(), x));
        var restored = CausalKvSession.Restore(saved);
        var read = pinned.GetAsync(restored, x);
        Assert.True(await Eventually.IsStillPendingAfter(read, Grace), "the restored session waits for the write it saw");
        await App.HealAsync(0, 1);
        Assert.Equal("written before saving", await read.WaitAsync(AfterHeal));
    }

    [Fact]
    public async Task A_killed_replica_is_skipped_for_the_other_one()
    {
        var (client, sent) = Client();
        var keys = KeysOf("shard1", 20, "kill");
        await CurrentViewAsync(client);
        Assert.Equal([2, 3], client.View!.NodesOf("shard1").Select(n => n.Id).Order());
        await App.KillResourceAsync("node3");
        sent.Clear();
        try
        {
            var session = new CausalKvSession();
            foreach (var key in keys) await client.PutAsync(session, key, $"v-{key}");
            foreach (var key in keys) Assert.Equal($"v-{key}", await client.GetAsync(session, key));
            var data = sent.DataRequests.ToList();
            output.WriteLine($"node2 {Address(2)}, node3 {Address(3)}; the view: {client.View}");
            foreach (var r in data) output.WriteLine(r.ToString());
            Assert.Contains(data, r => r.Address == Address(3) && r.ConnectFailed);
            Assert.DoesNotContain(data, r => r.Address == Address(3) && !r.ConnectFailed);
            Assert.Equal(2 * keys.Count, data.Count(r => r.Address == Address(2) && r.Status is 200 or 201));
        }
        finally
        {
            await App.StartResourceAsync("node3");
        }
    }

    [Fact]
    public async Task A_node_that_left_the_view_makes_the_client_follow_the_new_view()
    {
        // No refresh on a timer during the test: only what a node answers can make the client move.
        var (client, sent) = Client(viewRefresh: TimeSpan.FromHours(1));
        var keys = KeysOf("shard1", 40, "view");
        var session = new CausalKvSession();
        await CurrentViewAsync(client);
        await client.PutAsync(session, keys[0], "before");
        var original = App.Layout.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var before = client.View!.Epoch;
        sent.Clear(); // node3 may have taken the write above, under the old view
        var epoch = await App.InstallViewAsync(new Dictionary<string, int[]> { ["shard0"] = [0, 1], ["shard1"] = [2] });
        try
        {
            var i = 1;
            await Eventually.HoldsAsync(async () =>
            {
                await client.PutAsync(session, keys[i], $"v{i}");
                i = i % (keys.Count - 1) + 1;
                return client.View!.Epoch == epoch;
            }, TimeSpan.FromSeconds(30), "the client routes by the new view");
            Assert.True(epoch > before);
            // What moved it: node2's answer under the newer epoch, or node3 saying it serves no data; never a timer.
            Assert.All(sent.DataRequests.Where(r => r.Address == Address(3)), r => Assert.True(r.NotServing, $"node3 served {r} after leaving the view"));
            sent.Clear();
            foreach (var key in keys.Take(10)) await client.PutAsync(session, key, "after");
            Assert.All(sent.DataRequests, r => Assert.Equal(Address(2), r.Address));
            Assert.Equal("after", await client.GetAsync(session, keys[0]));
        }
        finally
        {
            await App.InstallViewAsync(original);
        }
    }
}
