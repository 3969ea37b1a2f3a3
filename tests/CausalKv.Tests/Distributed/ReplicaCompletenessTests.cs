using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>Five nodes and the router; each test installs the layout it starts from through the router.</summary>
public sealed class FiveNodeRouterFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() =>
        KvApp.Create(nodes: 5, shards: 2).WithNodeSetting("CausalWaitDeadline", "00:00:20");
}

/// <summary>
/// Guarantee 8: once <c>PUT /view</c> through the router answered 200 (every node of the old and the new view
/// answered 200), every replica of every shard holds every key its shard owns, or a read there waits for it.
/// Each test writes keys, changes the view through the router, and at once asks every replica directly, with no
/// causal metadata, for its whole shard and for each key: no answer may lack a key.
/// </summary>
public sealed class ReplicaCompletenessTests(FiveNodeRouterFixture cluster, ITestOutputHelper output)
    : IClassFixture<FiveNodeRouterFixture>, IDisposable
{
    private const int Keys = 200;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly ConcurrentDictionary<int, HttpClient> _patient = new();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    private static Dictionary<string, int[]> Layout(params (string Shard, int[] Nodes)[] shards) =>
        shards.ToDictionary(s => s.Shard, s => s.Nodes, StringComparer.Ordinal);

    [Fact]
    public Task A_removed_shard_whose_node_joins_the_gaining_shard() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4])),
        Layout(("shard0", [0, 1]), ("shard1", [2, 3, 4])));

    /// <summary>
    /// As above, with node2 cut off from node4: node2 learns from node3 (in gossip) that shard2's handoff is done, and
    /// receives node4's keys only through node3. It must not answer before it holds them.
    /// </summary>
    [Fact]
    public Task A_removed_shard_whose_node_joins_the_gaining_shard_while_a_new_peer_is_cut_off_from_it() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4])),
        Layout(("shard0", [0, 1]), ("shard1", [2, 3, 4])),
        cut: (4, 2));

    [Fact]
    public Task An_added_shard() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1]), ("shard1", [2, 3])),
        Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4])));

    [Fact]
    public Task A_removed_shard_whose_node_leaves_the_view() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4])),
        Layout(("shard0", [0, 1]), ("shard1", [2, 3])));

    [Fact]
    public Task A_node_moved_from_one_shard_to_another() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1, 2]), ("shard1", [3, 4])),
        Layout(("shard0", [0, 1]), ("shard1", [2, 3, 4])));

    [Fact]
    public Task A_replica_added_to_one_shard_and_removed_from_another() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1]), ("shard1", [2, 3])),
        Layout(("shard0", [0, 1, 4]), ("shard1", [2])));

    [Fact]
    public Task A_node_of_a_losing_shard_forms_the_added_shard() => ChangeAndCheckAsync(
        Layout(("shard0", [0, 1, 2]), ("shard1", [3, 4])),
        Layout(("shard0", [0, 1]), ("shard1", [3, 4]), ("shard2", [2])));

    private async Task ChangeAndCheckAsync(Dictionary<string, int[]> before, Dictionary<string, int[]> after, (int A, int B)? cut = null)
    {
        await PutViewThroughRouterAsync(before);
        Step($"starting layout installed: {Describe(before)}");
        var keys = Enumerable.Range(0, Keys).ToDictionary(i => $"{_p}k{i}", i => $"v{i}");
        await ShardAssertions.LoadAsync(_ => cluster.Client("router"), [0], keys);
        Step($"{Keys} keys written through the router");

        if (cut is { } c) await cluster.App.CutAsync(c.A, c.B);
        try
        {
            await PutViewThroughRouterAsync(after);
            Step($"PUT /view answered 200: {Describe(after)}");
            await EveryReplicaAnswersEveryKeyAsync(after, keys);
            Step("every replica answered every key of its shard");
        }
        finally
        {
            if (cut is not null) await cluster.App.HealAllAsync();
        }
        await OnlyOnOwnersAsync(after, keys);
        Step("every key lives only on its owner shard");
    }

    /// <summary>Every replica at once: its GET /data holds all of its shard's keys, and GET /data/{key} answers each.</summary>
    private async Task EveryReplicaAnswersEveryKeyAsync(Dictionary<string, int[]> layout, Dictionary<string, string> keys)
    {
        var ring = new HashRing(layout.Keys);
        var checks = layout.SelectMany(s => s.Value.Select(id => (Shard: s.Key, Id: id))).Select(async replica =>
        {
            var node = Patient(replica.Id);
            var owned = keys.Where(kv => ring.ShardFor(kv.Key) == replica.Shard).ToList();
            var all = await new KvSession().GetAllAsync(node);
            Assert.True(all.Status == HttpStatusCode.OK, $"GET /data at node{replica.Id}: {(int)all.Status} {all.Error}");
            var items = all.Body["items"]!.AsObject();
            var lacking = owned.Where(kv => items[kv.Key]?.GetValue<string>() != kv.Value).Select(kv => kv.Key).ToList();
            Assert.True(lacking.Count == 0,
                $"GET /data at node{replica.Id} of {replica.Shard} right after the view change lacks {lacking.Count} of its {owned.Count} keys, e.g. {string.Join(", ", lacking.Take(3))}");
            using var gate = new SemaphoreSlim(8);
            await Task.WhenAll(owned.Select(async kv =>
            {
                await gate.WaitAsync();
                try
                {
                    var read = await new KvSession().GetAsync(node, kv.Key);
                    Assert.True(read.Status == HttpStatusCode.OK && read.Value == kv.Value,
                        $"GET /data/{kv.Key} at node{replica.Id} of {replica.Shard}: {(int)read.Status} {read.Value ?? read.Error}");
                }
                finally { gate.Release(); }
            }));
        });
        await Task.WhenAll(checks);
    }

    /// <summary>Eventually each replica's GET /data holds exactly the keys of its shard (of this test's keys).</summary>
    private async Task OnlyOnOwnersAsync(Dictionary<string, int[]> layout, Dictionary<string, string> keys)
    {
        var ring = new HashRing(layout.Keys);
        var problem = "";
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var (shard, ids) in layout)
            {
                var want = keys.Where(kv => ring.ShardFor(kv.Key) == shard).ToDictionary();
                foreach (var id in ids)
                {
                    var items = (await ShardAssertions.ItemsAsync(Patient(id))).Where(kv => kv.Key.StartsWith(_p, StringComparison.Ordinal)).ToDictionary();
                    if (items.Count != want.Count || want.Any(kv => !items.TryGetValue(kv.Key, out var v) || v != kv.Value))
                    {
                        problem = $"node{id} of {shard} holds {items.Count} of this test's keys, {want.Count} expected";
                        return false;
                    }
                }
            }
            // Nodes left out of the view hold none of them either (they refuse data, so ask for their status).
            foreach (var id in Enumerable.Range(0, 5).Where(id => !layout.Values.Any(ids => ids.Contains(id))))
            {
                var status = await cluster.App.GetStatusAsync($"node{id}");
                if (status.TryGetProperty("keys", out var held) && held.GetInt32() > 0)
                {
                    problem = $"node{id}, out of the view, still holds {held.GetInt32()} keys";
                    return false;
                }
            }
            return true;
        }, Settle, "every key only on its owner shard");
    }

    private HttpClient Patient(int id) =>
        _patient.GetOrAdd(id, i => cluster.App.CreateHttpClient($"node{i}", TimeSpan.FromSeconds(60)));

    private async Task PutViewThroughRouterAsync(Dictionary<string, int[]> layout)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, "/view")
        {
            Content = new StringContent(cluster.App.ViewBody(layout, null).ToJsonString(), Encoding.UTF8, "application/json"),
        };
        put.Headers.Add(CausalKv.Protocol.ProtocolHeaders.ClusterKey, cluster.App.ClusterKey);
        using var response = await cluster.Client("router").SendAsync(put);
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT /view at the router: {(int)response.StatusCode} {answer}");
        Assert.All(JsonNode.Parse(answer)!["nodes"]!.AsArray(), n => Assert.Equal(200, n!["status"]!.GetValue<int>()));
    }

    public void Dispose()
    {
        foreach (var client in _patient.Values) client.Dispose();
    }

    private static string Describe(Dictionary<string, int[]> layout) =>
        string.Join(", ", layout.Select(s => $"{s.Key}=[{string.Join(",", s.Value)}]"));
}
