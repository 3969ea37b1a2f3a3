using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Protocol;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>Two shards of two replicas behind the router, for the view changes the router refuses or retries.</summary>
public sealed class ViewAllOrNothingFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() => RouterTests.Cluster();
}

/// <summary>
/// <c>PUT /view</c> through the router is all or nothing: a view naming a node the router cannot reach, or with a
/// stale epoch, changes no node; a refused change sent again once the node is back installs everywhere. The tests
/// share one cluster and read the view in force rather than assume it, so they pass in any order.
/// </summary>
public sealed class ViewAllOrNothingTests(ViewAllOrNothingFixture cluster, ITestOutputHelper output) : IClassFixture<ViewAllOrNothingFixture>
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    private HttpClient Router => cluster.Client("router");

    private static readonly int[] NodeIds = [0, 1, 2, 3];

    [Fact]
    public async Task A_view_naming_unreachable_nodes_is_refused_naming_them_and_no_node_installs_it()
    {
        var before = await AgreedViewAsync();
        var closedPort = $"127.0.0.1:{ClosedPort()}";
        // 192.0.2.0/24 is reserved for documentation: nothing answers there; connecting fails or hangs until the connect timeout.
        const string nowhere = "192.0.2.1:7000";
        var body = Body(before, epoch: null);
        body["view"]!["spare"] = new JsonArray(
            new JsonObject { ["address"] = closedPort, ["id"] = 40 },
            new JsonObject { ["address"] = nowhere, ["id"] = 41 });

        var started = Stopwatch.GetTimestamp();
        var (status, answer) = await PutViewAsync(Router, body);
        Step($"PUT /view at the router: {(int)status} {answer.ToJsonString()}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the refusal came within the probe deadline, not the view-change timeout");
        var error = answer["error"]!.GetValue<string>();
        Assert.Contains($"node 40 at {closedPort}", error);
        Assert.Contains($"node 41 at {nowhere}", error);
        Assert.Equal([40, 41], answer["unreachable"]!.AsArray().Select(n => n!["id"]!.GetValue<int>()).Order());
        Assert.Equal(before.Epoch, answer["epoch"]!.GetValue<long>());

        await NothingChangedAsync(before);
    }

    [Fact]
    public async Task A_view_with_a_stale_epoch_is_a_conflict_at_the_router_and_at_a_node_and_an_exact_resend_is_a_retry()
    {
        var before = await AgreedViewAsync();
        var other = Layout(before.Epoch, ("shard0", [0, 1, 2, 3]));

        var (status, answer) = await PutViewAsync(Router, Body(other, before.Epoch));
        Step($"router, epoch {before.Epoch} (current) with another layout: {(int)status} {answer.ToJsonString()}");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains($"epoch {before.Epoch}", answer["error"]!.GetValue<string>());
        Assert.Equal(before.Epoch, answer["epoch"]!.GetValue<long>());

        (status, answer) = await PutViewAsync(cluster.Node(1), Body(other, before.Epoch));
        Step($"node1, epoch {before.Epoch} with another layout: {(int)status} {answer.ToJsonString()}");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains($"epoch {before.Epoch}", answer["error"]!.GetValue<string>());

        if (before.Epoch > 1)
        {
            (status, answer) = await PutViewAsync(Router, Body(before, before.Epoch - 1));
            Step($"router, the current layout at an older epoch: {(int)status} {answer.ToJsonString()}");
            Assert.Equal(HttpStatusCode.Conflict, status);
            (status, _) = await PutViewAsync(cluster.Node(2), Body(before, before.Epoch - 1));
            Assert.Equal(HttpStatusCode.Conflict, status);
        }
        await NothingChangedAsync(before);

        // The view in force, resent with its own epoch: a retry, 200 from every node, and still nothing changes.
        (status, answer) = await PutViewAsync(Router, Body(before, before.Epoch));
        Step($"router, the view in force again: {(int)status} {answer.ToJsonString()}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(answer["retry"]!.GetValue<bool>());
        Assert.Equal(before.Epoch, answer["epoch"]!.GetValue<long>());
        Assert.Equal(NodeIds, answer["nodes"]!.AsArray().Select(n => n!["id"]!.GetValue<int>()).Order());
        (status, _) = await PutViewAsync(cluster.Node(0), Body(before, before.Epoch));
        Assert.Equal(HttpStatusCode.OK, status);
        await NothingChangedAsync(before);
    }

    [Fact]
    public async Task A_change_refused_for_a_killed_node_installs_everywhere_when_sent_again_after_the_node_is_back()
    {
        var before = await AgreedViewAsync();
        var keys = Enumerable.Range(0, 40).ToDictionary(i => $"{_p}k{i}", i => $"v{i}");
        var session = new KvSession();
        foreach (var (key, value) in keys) Assert.True((await session.PutAsync(Router, key, value)).Status is HttpStatusCode.OK or HttpStatusCode.Created);

        // Node 3 moves into a shard of its own: a layout no earlier test installs.
        var next = Layout(0, ("shard0", [0, 1]), ("shard1", [2]), ("shard2", [3]));
        Assert.False(next.SameLayoutAs(before));
        await cluster.App.KillResourceAsync("node3");
        Step("node3 killed");
        var body = Body(next, epoch: null);
        var (status, answer) = await PutViewAsync(Router, body);
        Step($"PUT /view with node3 down: {(int)status} {answer.ToJsonString()}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains($"node 3 at {cluster.App.Cluster.Node(3).Address}", answer["error"]!.GetValue<string>());
        await NothingChangedAsync(before, [0, 1, 2]);

        await cluster.App.StartResourceAsync("node3");
        // Running is not answering: wait until the node's new run answers and has its view back.
        await cluster.App.Control.WaitForJoinAsync(3);
        Step("node3 back");
        (status, answer) = await PutViewAsync(Router, body);
        Step($"the same PUT /view again: {(int)status} {answer.ToJsonString()}");
        Assert.Equal(HttpStatusCode.OK, status);
        var epoch = answer["epoch"]!.GetValue<long>();
        Assert.True(epoch > before.Epoch, $"epoch {epoch} is above {before.Epoch}");
        Assert.False(answer["retry"]!.GetValue<bool>());

        var views = await ViewsAsync();
        Assert.All(views, v => Assert.Equal(epoch, v.Epoch));
        Assert.All(views, v => Assert.True(v.View!.SameLayoutAs(next), $"{v.Name} follows {v.View}"));
        await Eventually.HoldsAsync(async () => (await ViewsAsync(router: true)).All(v => v.Epoch == epoch),
            TimeSpan.FromSeconds(5), "the router follows the new view");
        foreach (var (key, value) in keys)
        {
            var read = await session.GetAsync(Router, key);
            Assert.True(read.Status == HttpStatusCode.OK && read.Value == value, $"{key} reads {(int)read.Status} {read.Value ?? read.Error}");
        }

        // Sent once more, it is a retry of the view in force: no new epoch.
        (status, answer) = await PutViewAsync(Router, body);
        Assert.Equal((HttpStatusCode.OK, epoch, true), (status, answer["epoch"]!.GetValue<long>(), answer["retry"]!.GetValue<bool>()));
    }

    /// <summary>Every node's view (and the router's, when asked), read from GET /view.</summary>
    private async Task<(string Name, long Epoch, ShardView? View)[]> ViewsAsync(IEnumerable<int>? nodes = null, bool router = false)
    {
        var names = (nodes ?? NodeIds).Select(id => $"node{id}").Concat(router ? ["router"] : []).ToList();
        return await Task.WhenAll(names.Select(async name =>
        {
            var json = await cluster.Client(name).GetByteArrayAsync("/view");
            Assert.True(ViewJson.TryReadNodeAnswer(json, out var epoch, out var view), $"{name}'s GET /view: {Encoding.UTF8.GetString(json)}");
            return (name, epoch, view);
        }));
    }

    /// <summary>The view every node and the router agree on (a change by another test is over before it returns).</summary>
    private async Task<ShardView> AgreedViewAsync()
    {
        ShardView? agreed = null;
        await Eventually.HoldsAsync(async () =>
        {
            var views = await ViewsAsync(router: true);
            agreed = views[0].View;
            return agreed is not null && views.All(v => v.Epoch == agreed.Epoch && v.View is not null && v.View.SameLayoutAs(agreed));
        }, Settle, "every node and the router show the same view");
        Step($"view in force: {agreed}");
        return agreed!;
    }

    /// <summary>Every node of <paramref name="nodes"/> still shows <paramref name="before"/>, and data is still served.</summary>
    private async Task NothingChangedAsync(ShardView before, IEnumerable<int>? nodes = null)
    {
        foreach (var (name, epoch, view) in await ViewsAsync(nodes))
        {
            Assert.Equal(before.Epoch, epoch);
            Assert.True(view is not null && view.SameLayoutAs(before), $"{name} follows {view}");
        }
        Assert.Equal(before.Epoch, (await ViewsAsync([], router: true))[0].Epoch);
        var session = new KvSession();
        var key = $"{_p}after-{Guid.NewGuid():N}";
        Assert.True((await session.PutAsync(Router, key, "still served")).Status is HttpStatusCode.OK or HttpStatusCode.Created);
        Assert.Equal("still served", (await session.GetAsync(Router, key)).Value);
    }

    private ShardView Layout(long epoch, params (string Shard, int[] Ids)[] shards) =>
        ShardView.Create(epoch, shards.ToDictionary(
            s => s.Shard, s => (IReadOnlyList<ViewNode>)s.Ids.Select(id => new ViewNode(cluster.App.Cluster.Node(id).Address, id)).ToArray(),
            StringComparer.Ordinal));

    private static JsonObject Body(ShardView view, long? epoch)
    {
        var shards = new JsonObject();
        foreach (var shard in view.ShardNames)
            shards[shard] = new JsonArray(view.NodesOf(shard).Select(n => (JsonNode)new JsonObject { ["address"] = n.Address, ["id"] = n.Id }).ToArray());
        var body = new JsonObject { ["view"] = shards };
        if (epoch is not null) body["epoch"] = epoch;
        return body;
    }

    private async Task<(HttpStatusCode Status, JsonObject Answer)> PutViewAsync(HttpClient to, JsonObject body)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, "/view") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        put.Headers.Add(ProtocolHeaders.ClusterKey, cluster.App.ClusterKey);
        using var response = await to.SendAsync(put);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)?.AsObject() ?? throw new InvalidOperationException($"not a JSON object: {text}"));
    }

    /// <summary>A loopback port nobody listens on: bound, read and released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
