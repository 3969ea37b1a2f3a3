using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// A node started with nothing but its id: pings at once, refuses data until a view names it, then joins; the keys
/// its shard takes over from a shard whose node never answers wait for that handoff until the fence times out.
/// </summary>
public sealed class StandaloneStartTests
{
    [Fact]
    public async Task A_node_that_cannot_start_fails_the_cluster_start_with_the_node_own_words()
    {
        var start = KvApp.Create(nodes: 1, shards: 1).WithoutRouter().WithNodeSetting("GossipInterval", "-00:00:01").StartAsync();
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => start);
        Assert.Contains("kv-node0", failed.Message);
        Assert.Contains("must be positive", failed.Message); // the node's own error, from its console log
    }

    [Fact]
    public async Task A_node_promises_one_layout_per_epoch_and_refuses_another_in_prepare_and_in_put()
    {
        await using var app = await KvApp.Create(nodes: 1, shards: 1).WithoutInitialView().StartAsync();
        using var admin = app.CreateHttpClient("node0");
        admin.DefaultRequestHeaders.Add("X-CausalKv-Key", app.ClusterKey);
        object Body(int id, long? epoch) => epoch is null
            ? new { view = new Dictionary<string, object[]> { ["s"] = [new { address = $"127.0.0.1:{id}", id }] } }
            : new { view = new Dictionary<string, object[]> { ["s"] = [new { address = $"127.0.0.1:{id}", id }] }, epoch };

        using (var promised = await admin.PostAsJsonAsync("/view/prepare", Body(7, 5)))
        {
            Assert.Equal(HttpStatusCode.OK, promised.StatusCode);
            Assert.Equal(5, (await promised.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("promised").GetInt64());
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/view/prepare", Body(7, 5))).StatusCode);
        using (var other = await admin.PostAsJsonAsync("/view/prepare", Body(8, 5)))
        {
            Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
            var answer = await other.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(5, answer.GetProperty("promised").GetInt64());
            Assert.Contains("promised here to another layout", answer.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsJsonAsync("/view/prepare", Body(8, null))).StatusCode);
        // One promise per epoch: an epoch below it that no promise names is promised too, to any layout.
        using (var lower = await admin.PostAsJsonAsync("/view/prepare", Body(8, 4)))
        {
            Assert.Equal(HttpStatusCode.OK, lower.StatusCode);
            Assert.Equal(5, (await lower.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("promised").GetInt64());
        }
        // PUT /view: another layout under a promised epoch is refused; the promised one installs, and then an epoch below it is stale.
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsJsonAsync("/view", Body(8, 5))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsJsonAsync("/view", Body(7, 4))).StatusCode);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/view")).GetProperty("epoch").GetInt64());
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/view", Body(7, 5))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PutAsJsonAsync("/view", Body(8, 4))).StatusCode);
        // Without a prepare: a promise above the view is honoured by going above it.
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync("/view/prepare", Body(8, 9))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/view", Body(7, null))).StatusCode);
        Assert.Equal(10, (await admin.GetFromJsonAsync<JsonElement>("/view")).GetProperty("epoch").GetInt64());
        // Unauthenticated prepares are refused like any other cluster-changing request.
        using var anonymous = app.CreateHttpClient("node0");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/view/prepare", Body(7, 11))).StatusCode);
    }

    [Fact]
    public async Task A_router_is_ready_only_once_it_holds_a_view_and_then_serves_at_once()
    {
        await using var app = await KvApp.Create(nodes: 1, shards: 1).WithoutInitialView().WithRouter().StartAsync();
        using var router = app.CreateHttpClient("router");

        // Alive, but not ready: a data request could only answer 503.
        await Eventually.HoldsAsync(async () =>
        {
            try { return (await router.GetAsync("/alive")).StatusCode == HttpStatusCode.OK; }
            catch (HttpRequestException) { return false; } // still starting
        }, TimeSpan.FromSeconds(60), "the router answers /alive");
        using (var health = await router.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var report = await health.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Unhealthy", report.GetProperty("checks").GetProperty("view").GetString());
            Assert.Contains("no view to route by", report.GetProperty("descriptions").GetProperty("view").GetString());
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await new KvSession().PutAsync(router, "k", "v")).Status);

        using var admin = app.CreateHttpClient("node0");
        admin.DefaultRequestHeaders.Add("X-CausalKv-Key", app.ClusterKey);
        using (var put = await admin.PutAsync("/view", new StringContent(app.ViewBody(app.Layout, null).ToJsonString(), Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        await Eventually.HoldsAsync(async () => (await router.GetAsync("/health")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the router found the view and reports ready");
        // Ready means serving: the first request after it is answered, not a 503 to retry.
        var session = new KvSession();
        Assert.Equal(HttpStatusCode.Created, (await session.PutAsync(router, "k", "v")).Status);
        Assert.Equal("v", (await session.GetAsync(router, "k")).Value);
    }

    [Fact]
    public async Task A_node_without_a_view_answers_ping_refuses_data_with_503_and_joins_when_a_view_names_it()
    {
        // A short causal-wait deadline: the fence on the unreachable old shard lifts after twice that (10 s), while the
        // reads below wait 5 s from nearly the start of the fence, with margin for a loaded machine.
        await using var app = await KvApp.Create(nodes: 1, shards: 1).WithoutInitialView()
            .WithNodeSetting("CausalWaitDeadline", "00:00:05").StartAsync();
        using var node = app.CreateHttpClient("node0");

        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/ping")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await node.GetAsync("/health")).StatusCode);
        var refused = await new KvSession().PutAsync(node, "k", "v");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Contains("PUT /view", refused.Error);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await new KvSession().GetAsync(node, "k")).Status);

        // A view that does not name this node: still refused, with a message saying so.
        using var admin = app.CreateHttpClient("node0");
        admin.DefaultRequestHeaders.Add("X-CausalKv-Key", app.ClusterKey);
        var elsewhere = new { view = new Dictionary<string, object[]> { ["s"] = [new { address = "127.0.0.1:1", id = 7 }] } };
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync("/view", elsewhere)).StatusCode);
        var notMine = await new KvSession().PutAsync(node, "k", "v");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notMine.Status);
        Assert.Contains("not in the current view", notMine.Error);

        using var put = await admin.PutAsync("/view", new StringContent(app.ViewBody(app.Layout, null).ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var view = await node.GetFromJsonAsync<JsonElement>("/view");
        Assert.Equal(2, view.GetProperty("epoch").GetInt64());
        // Not ready yet: the view before said shard "s" held the data, and no node of it has handed its keys over.
        using (var health = await node.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("waiting for handoff from s", await health.Content.ReadAsStringAsync());
        }
        // A write does not wait for the handoff (its tag is above all its session saw); a read of the key does, as
        // a version from "s" could still win the tie-break, and so does a DELETE that has to tell whether a key it
        // knows nothing of exists. At the deadline the 503 says what is missing.
        var writer = new KvSession();
        Assert.Equal(HttpStatusCode.Created, (await writer.PutAsync(node, "k", "v")).Status);
        // Both at once: the fence lifts after two deadlines.
        var reading = new KvSession().GetAsync(node, "k");
        var deleting = new KvSession().DeleteAsync(node, "never-written");
        var (early, unknownDelete) = (await reading, await deleting);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.Status);
        Assert.Contains("it still lacks the handoff of 'k' from its previous shard", early.Error);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unknownDelete.Status);
        Assert.Contains("handoff of 'never-written'", unknownDelete.Error);

        // Node 7 of "s" never answers: the fence lifts after its timeout, and the node serves the write it took.
        await Eventually.HoldsAsync(async () => (await writer.GetAsync(node, "k")).Value == "v",
            TimeSpan.FromSeconds(60), "the write is read once the fence on the unreachable shard timed out");
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().DeleteAsync(node, "never-written")).Status);
    }
}
