using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// Nodes and a router started from configuration alone (the declared cluster, no AppHost, no <c>PUT /view</c>): the
/// router's reconciler forms the cluster, gives a node that restarted empty its view back, moves keys when a newer
/// declaration adds a shard, and a second router holding an older declaration stands down instead of undoing it.
/// </summary>
public sealed class DeclaredClusterTests(ITestOutputHelper output)
{
    private static readonly long Generation1 = ClusterDeclaration.EpochsPerGeneration + 1;
    private static readonly long Generation2 = 2 * ClusterDeclaration.EpochsPerGeneration + 1;

    [Fact]
    public async Task A_cluster_declared_in_configuration_forms_by_itself_heals_a_restarted_node_and_follows_a_newer_declaration()
    {
        var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using var cluster = new LocalCluster(key);
        var ports = Enumerable.Range(0, 6).Select(_ => LocalCluster.FreePort()).ToArray();
        (string, string)[] Declaration(long generation) =>
        [
            ("CausalKv__Cluster__Generation", $"{generation}"),
            ("CausalKv__Cluster__Shards", "2"),
            ("CausalKv__Cluster__ReplicasPerShard", "2"),
            ("CausalKv__Cluster__Members", "kv-0,kv-1,kv-2,kv-3,kv-4,kv-5"),
            .. ports.Select((p, i) => ($"CausalKv__Cluster__Addresses__kv-{i}", $"127.0.0.1:{p}")),
        ];

        var clock = Stopwatch.StartNew();
        var nodes = ports.Select((p, i) => cluster.StartNode(i, p)).ToArray();
        var router = cluster.StartRouter("router", LocalCluster.FreePort(), Declaration(1));
        using var http = new HttpClient { BaseAddress = router.Url, Timeout = TimeSpan.FromSeconds(30) };

        // Serving data: a write and a read of it in one session, through the router.
        var session = new KvSession();
        await Eventually.HoldsAsync(async () =>
        {
            try { return (await session.PutAsync(http, "first", "v")).Status is HttpStatusCode.Created or HttpStatusCode.OK; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromMinutes(2), "the router serves data: " + router.Tail);
        Assert.Equal("v", (await session.GetAsync(http, "first")).Value);
        output.WriteLine($"From starting 6 nodes and a router with configuration alone to the router serving data: {clock.ElapsedMilliseconds} ms");

        var state = await ReconcilerAsync(http, r => r.GetProperty("action").GetString() == "InSync");
        Assert.Equal(Generation1, state.GetProperty("epoch").GetInt64());
        output.WriteLine($"The router's own measure (start to every member holding the view): {state.GetProperty("formedAfterMs").GetInt64()} ms");
        var view = await http.GetFromJsonAsync<JsonElement>("/view");
        Assert.Equal(["shard0", "shard1"], view.GetProperty("view").EnumerateObject().Select(s => s.Name));

        for (var i = 0; i < 200; i++) Assert.True((await session.PutAsync(http, $"k{i}", $"v{i}")).Status is HttpStatusCode.Created);

        // A node killed and started again with no data and no view (memory only) gets the view back from the reconciler.
        await nodes[3].KillAsync();
        nodes[3].Restart();
        using var node3 = new HttpClient { BaseAddress = nodes[3].Url, Timeout = TimeSpan.FromSeconds(10) };
        await Eventually.HoldsAsync(async () =>
        {
            try { return (await node3.GetFromJsonAsync<JsonElement>("/view")).GetProperty("epoch").GetInt64() == Generation1; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "the restarted node gets the declared view again: " + router.Tail);
        state = await ReconcilerAsync(http, r => r.GetProperty("resends").GetInt32() >= 1 && r.GetProperty("action").GetString() == "InSync");

        // A newer declaration (generation 2, three shards: the spares kv-4 and kv-5 join) moves a share of the keys.
        using var declare = new HttpRequestMessage(HttpMethod.Put, "/cluster/declaration")
        {
            Content = new StringContent("""{"generation": 2, "shards": 3, "replicasPerShard": 2, "members": ["kv-0","kv-1","kv-2","kv-3","kv-4","kv-5"]}""", Encoding.UTF8, "application/json"),
        };
        declare.Headers.Add("X-CausalKv-Key", key);
        var changing = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Accepted, (await http.SendAsync(declare)).StatusCode);
        state = await ReconcilerAsync(http, r => r.GetProperty("epoch").GetInt64() == Generation2 && r.GetProperty("action").GetString() == "InSync");
        output.WriteLine($"Generation 1 -> 2 (2 -> 3 shards, 201 keys) applied in {changing.ElapsedMilliseconds} ms");
        for (var i = 0; i < 200; i++) Assert.Equal($"v{i}", (await session.GetAsync(http, $"k{i}")).Value);
        var status4 = await new HttpClient { BaseAddress = nodes[4].Url }.GetFromJsonAsync<JsonElement>("/admin/status");
        Assert.Equal("shard2", status4.GetProperty("shard").GetString());
        Assert.True(status4.GetProperty("keys").GetInt32() > 0, "the new shard holds the keys it took over");

        // A second router with the older declaration (generation 1) stands down: it never installs generation 1 again.
        var stale = cluster.StartRouter("stale-router", LocalCluster.FreePort(), Declaration(1));
        using var staleHttp = new HttpClient { BaseAddress = stale.Url, Timeout = TimeSpan.FromSeconds(30) };
        var staleState = await ReconcilerAsync(staleHttp, r => r.GetProperty("action").GetString() == "StandDown");
        output.WriteLine("The router with the older declaration: " + staleState.GetProperty("reason").GetString());
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("StandDown", (await ReconcilerAsync(staleHttp, _ => true)).GetProperty("action").GetString());
        Assert.Equal(0, (await ReconcilerAsync(staleHttp, _ => true)).GetProperty("installs").GetInt32());
        Assert.Equal(Generation2, (await http.GetFromJsonAsync<JsonElement>("/view")).GetProperty("epoch").GetInt64());
        Assert.Equal("v7", (await session.GetAsync(staleHttp, "k7")).Value); // it still routes, by the newer view
    }

    /// <summary>The <c>reconciler</c> part of <c>GET /cluster/state</c>, once it satisfies <paramref name="done"/>.</summary>
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
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(90), "the reconciler reports what was expected");
        return last;
    }
}
