using System.Net;
using System.Text.Json.Serialization;
using CausalKv.Client;
using CausalKv.Sharding;
using CausalKv.Tests.Distributed;

namespace CausalKv.Tests.Client;

public sealed record Comment(string Author, string Text, int Likes);

[JsonSerializable(typeof(Comment))]
internal sealed partial class ClientTestJson : JsonSerializerContext;

/// <summary>The client against nodes in memory: routing, failover, view refreshes, results and exceptions, metadata passed verbatim.</summary>
public sealed class ClientBehaviourTests : IDisposable
{
    private readonly FakeNodes _nodes = new() { View = FakeNodes.TwoReplicaShards(3) };
    private readonly CausalKvClient _client;

    public ClientBehaviourTests()
    {
        _client = new CausalKvClient(new CausalKvClientOptions { Endpoints = [new Uri("http://127.0.9.100:8080")] }, _nodes, disposeHandler: false);
    }

    public void Dispose() => _client.Dispose();

    private string ShardOf(string key) => _nodes.View.CreateRing().ShardFor(key);

    private IEnumerable<string> AddressesOf(string shard) => _nodes.View.NodesOf(shard).Select(n => n.Address);

    [Fact]
    public async Task Each_request_goes_to_a_replica_of_the_shard_that_owns_its_key()
    {
        var session = new CausalKvSession();
        var keys = Enumerable.Range(0, 60).Select(i => $"k{i}").ToList();
        foreach (var key in keys) await _client.PutAsync(session, key, "v");
        var data = _nodes.DataRequests.ToList();
        Assert.Equal(60, data.Count);
        Assert.All(data, r => Assert.Contains(r.Address, AddressesOf(ShardOf(r.Path["/data/".Length..]))));
        Assert.Equal(3, data.Select(r => ShardOf(r.Path["/data/".Length..])).Distinct().Count());
        // Both replicas of every shard take a share.
        Assert.Equal(6, data.Select(r => r.Address).Distinct().Count());
    }

    [Fact]
    public async Task An_answer_under_a_newer_view_makes_the_client_route_by_it()
    {
        _nodes.SendsEpoch = true;
        var session = new CausalKvSession();
        await _client.PutAsync(session, "a", "v");
        Assert.Equal(1, _client.View!.Epoch);
        // The cluster moves on to other nodes; the old ones still answer (they forward), saying their epoch.
        _nodes.View = FakeNodes.TwoReplicaShards(2, epoch: 2, firstId: 20);
        await _client.PutAsync(session, "b", "v");
        await Eventually.HoldsAsync(() => Task.FromResult(_client.View!.Epoch == 2), TimeSpan.FromSeconds(4), "the client adopts the newer view (no request ages the view meanwhile)");
        await _client.PutAsync(session, "c", "v");
        var last = _nodes.DataRequests.Last();
        Assert.Contains(last.Address, _nodes.View.NodesOf(_nodes.View.CreateRing().ShardFor("c")).Select(n => n.Address));
    }

    [Fact]
    public async Task A_replica_that_does_not_connect_is_skipped_for_the_next()
    {
        var key = "failover";
        var dead = _nodes.View.NodesOf(ShardOf(key))[0].Address;
        _nodes.Down[dead] = true;
        var session = new CausalKvSession();
        for (var i = 0; i < 20; i++) await _client.PutAsync(session, key, $"v{i}");
        var data = _nodes.DataRequests.ToList();
        var live = Assert.Single(AddressesOf(ShardOf(key)), a => a != dead);
        Assert.Equal(20, data.Count(r => r.Address == live));
        // Once it failed, the dead replica is tried only after the live one: at most the first request tried it.
        Assert.InRange(data.Count(r => r.Address == dead), 0, 1);
    }

    [Fact]
    public async Task A_shard_with_no_replica_that_connects_is_an_unreachable_shard()
    {
        var key = "nowhere";
        var shard = ShardOf(key);
        foreach (var a in AddressesOf(shard)) _nodes.Down[a] = true;
        var e = await Assert.ThrowsAsync<CausalKvShardUnreachableException>(() => _client.GetAsync(new CausalKvSession(), key));
        Assert.Equal(shard, e.Shard);
        Assert.Equal(AddressesOf(shard).Order(), e.Tried.Distinct().Order());
    }

    [Fact]
    public async Task A_write_whose_answer_was_lost_is_not_sent_again_but_a_read_is()
    {
        var key = "lost";
        var first = true;
        _nodes.Answer = r =>
        {
            if (first) { first = false; throw new HttpRequestException(HttpRequestError.ResponseEnded, "the connection closed mid-answer"); }
            return (HttpStatusCode.OK, "{\"value\": \"x\", \"causal-metadata\": {}}", false);
        };
        var e = await Assert.ThrowsAsync<CausalKvException>(() => _client.PutAsync(new CausalKvSession(), key, "v"));
        Assert.Contains("may or may not have been applied", e.Message);
        Assert.Single(_nodes.DataRequests);
        first = true;
        Assert.Equal("x", await _client.GetAsync(new CausalKvSession(), key));
        Assert.Equal(3, _nodes.DataRequests.Count());
    }

    [Fact]
    public async Task Missing_keys_are_null_and_false_not_exceptions()
    {
        _nodes.Answer = _ => (HttpStatusCode.NotFound, "{\"causal-metadata\": {}, \"error\": \"Key 'x' does not exist.\"}", false);
        var session = new CausalKvSession();
        Assert.Null(await _client.GetAsync(session, "x"));
        Assert.False((await _client.TryGetAsync(session, "x")).Found);
        Assert.False((await _client.TryGetAsync(session, "x", ClientTestJson.Default.Comment)).Found);
        Assert.False(await _client.DeleteAsync(session, "x"));
    }

    [Fact]
    public async Task A_causal_wait_deadline_a_refusal_and_a_server_side_unreachable_shard_are_distinct()
    {
        _nodes.Answer = _ => (HttpStatusCode.ServiceUnavailable, "{\"error\": \"This replica has not received a write the session depends on within 30 s.\", \"causal-metadata\": {}}", false);
        var wait = await Assert.ThrowsAsync<CausalWaitTimeoutException>(() => _client.GetAsync(new CausalKvSession(), "x"));
        Assert.Contains("has not received a write", wait.Message);

        _nodes.Answer = _ => (HttpStatusCode.BadRequest, "{\"error\": \"causal-metadata was issued by another cluster\"}", false);
        var refused = await Assert.ThrowsAsync<CausalKvRequestRefusedException>(() => _client.PutAsync(new CausalKvSession(), "x", "v"));
        Assert.Equal("causal-metadata was issued by another cluster", refused.Message);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        _nodes.Answer = _ => (HttpStatusCode.ServiceUnavailable, "{\"error\": \"Shard 's1' has no reachable replica\"}", false);
        var unreachable = await Assert.ThrowsAsync<CausalKvShardUnreachableException>(() => _client.GetAsync(new CausalKvSession(), "x"));
        Assert.Contains("no reachable replica", unreachable.Message);
    }

    [Fact]
    public async Task The_session_passes_back_exactly_the_metadata_it_was_given()
    {
        const string issued = "{ \"ckv\":\"c1\",  \"d\":{\"k\":{\"c\":{\"5\":1},\"t\":[1,0]}}, \"m\":\"QUJD\" }";
        _nodes.Answer = r => r.Method == HttpMethod.Put
            ? (HttpStatusCode.Created, $"{{\"causal-metadata\": {issued}}}", false)
            : (HttpStatusCode.OK, "{\"value\": \"v\", \"causal-metadata\": {}}", false);
        var session = new CausalKvSession();
        await _client.GetAsync(session, "before");
        Assert.Null(_nodes.DataRequests.Single().Body);
        await _client.PutAsync(session, "k", "v");
        Assert.Equal(issued, session.CausalMetadata);
        await _client.GetAsync(session, "k");
        Assert.Equal($"{{\"causal-metadata\":{issued}}}", _nodes.DataRequests.Last().Body);
        Assert.Equal("{}", session.CausalMetadata);
    }

    [Fact]
    public async Task Typed_values_travel_as_json_strings()
    {
        string? stored = null;
        _nodes.Answer = r =>
        {
            if (r.Method == HttpMethod.Put) stored = System.Text.Json.JsonDocument.Parse(r.Body!).RootElement.GetProperty("value").GetString();
            return (HttpStatusCode.OK, new System.Text.Json.Nodes.JsonObject { ["value"] = stored, ["causal-metadata"] = new System.Text.Json.Nodes.JsonObject() }.ToJsonString(), false);
        };
        var session = new CausalKvSession();
        await _client.PutAsync(session, "c", new Comment("ada", "first!", 2), ClientTestJson.Default.Comment);
        Assert.Equal("{\"Author\":\"ada\",\"Text\":\"first!\",\"Likes\":2}", stored);
        Assert.Equal(new Comment("ada", "first!", 2), await _client.GetAsync(session, "c", ClientTestJson.Default.Comment));
    }

    [Fact]
    public async Task A_node_that_left_the_view_makes_the_client_refresh_and_send_to_the_new_owner()
    {
        var key = "moved";
        await _client.PutAsync(new CausalKvSession(), key, "v");
        var oldNodes = _nodes.View.AllNodes.Select(n => n.Address).ToHashSet();
        // A new view: every node replaced; the old ones now serve no data.
        _nodes.View = FakeNodes.TwoReplicaShards(3, epoch: 2, firstId: 10);
        _nodes.Answer = r => oldNodes.Contains(r.Address)
            ? (HttpStatusCode.ServiceUnavailable, "{\"error\": \"not in the current view\"}", true)
            : (HttpStatusCode.OK, "{\"causal-metadata\": {}}", false);
        await _client.PutAsync(new CausalKvSession(), key, "w");
        Assert.Equal(2, _client.View!.Epoch);
        var last = _nodes.DataRequests.Last();
        Assert.Contains(last.Address, AddressesOf(ShardOf(key)));
        Assert.DoesNotContain(last.Address, oldNodes);
    }

    [Fact]
    public async Task Reading_every_key_asks_one_replica_per_shard_chaining_the_metadata()
    {
        _nodes.Answer = r =>
        {
            var shard = _nodes.View.ShardOf(int.Parse(r.Address.Split('.', ':')[3]))!;
            return (HttpStatusCode.OK, $"{{\"items\": {{\"{shard}-key\": \"{shard}-value\"}}, \"causal-metadata\": {{\"after\": \"{shard}\"}}, \"shard\": \"{shard}\"}}", false);
        };
        var session = new CausalKvSession();
        var all = await _client.GetAllAsync(session).ToDictionaryAsync(kv => kv.Key, kv => kv.Value);
        Assert.Equal(["s0-key", "s1-key", "s2-key"], all.Keys.Order());
        Assert.Equal("s1-value", all["s1-key"]);
        var reads = _nodes.DataRequests.ToList();
        Assert.Equal(3, reads.Count);
        Assert.Null(reads[0].Body);
        Assert.Equal("{\"causal-metadata\":{\"after\": \"s0\"}}", reads[1].Body);
        Assert.Equal("{\"causal-metadata\":{\"after\": \"s1\"}}", reads[2].Body);
        Assert.Equal("{\"after\": \"s2\"}", session.CausalMetadata);
    }

    [Fact]
    public async Task Reading_every_key_names_the_shard_none_of_whose_replicas_connects()
    {
        foreach (var a in AddressesOf("s1")) _nodes.Down[a] = true;
        _nodes.Answer = _ => (HttpStatusCode.OK, "{\"items\": {}, \"causal-metadata\": {}, \"shard\": \"s0\"}", false);
        var session = new CausalKvSession();
        var e = await Assert.ThrowsAsync<CausalKvShardUnreachableException>(() => _client.GetAllAsync(session).ToListAsync().AsTask());
        Assert.Equal("s1", e.Shard);
        Assert.Equal(AddressesOf("s1").Order(), e.Tried.Distinct().Order());
        Assert.Equal("{}", session.CausalMetadata); // s0's page was handed out before s1 failed: the session keeps what it saw
    }

    [Fact]
    public async Task Through_a_router_every_request_goes_to_the_router()
    {
        using var viaRouter = new CausalKvClient(new CausalKvClientOptions
        {
            Endpoints = [new Uri("http://127.0.9.100:8080"), new Uri("http://127.0.9.101:8080")],
            Routing = CausalKvRouting.ViaRouter,
        }, _nodes, disposeHandler: false);
        _nodes.Down["127.0.9.100:8080"] = true;
        var session = new CausalKvSession();
        for (var i = 0; i < 10; i++) await viaRouter.PutAsync(session, $"r{i}", "v");
        Assert.All(_nodes.Requests, r => Assert.StartsWith("127.0.9.10", r.Address));
        Assert.Equal(10, _nodes.DataRequests.Count(r => r.Address == "127.0.9.101:8080"));
        Assert.DoesNotContain(_nodes.Requests, r => r.Path == "/view");
    }
}
