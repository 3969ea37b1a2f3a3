using System.Net;
using CausalKv.Sharding;

namespace CausalKv.Tests.Distributed;

/// <summary>Three shards of two replicas.</summary>
public sealed class ThreeShardFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() =>
        KvApp.Create(nodes: 6, shards: 3).WithoutRouter().WithNodeSetting("CausalWaitDeadline", "00:00:20");
}

public sealed class ShardingTests(ThreeShardFixture cluster) : IClassFixture<ThreeShardFixture>, IAsyncLifetime
{
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => cluster.App.HealAllAsync();

    [Fact]
    public async Task Every_key_lands_on_exactly_one_shard_and_each_node_serves_only_its_own()
    {
        var keys = Enumerable.Range(0, 600).ToDictionary(i => $"{_p}k{i}", i => $"v{i}");
        await ShardAssertions.LoadAsync(cluster.Node, [0, 1, 2, 3, 4, 5], keys);
        var expected = new Dictionary<string, string>(keys);
        // Other tests of this class add their own keys: compare only ours.
        var ring = new HashRing(cluster.App.Layout.Keys);
        foreach (var (shard, ids) in cluster.App.Layout)
        {
            foreach (var id in ids)
            {
                await Eventually.HoldsAsync(async () =>
                {
                    var items = (await ShardAssertions.ItemsAsync(cluster.Node(id))).Where(kv => kv.Key.StartsWith(_p, StringComparison.Ordinal)).ToDictionary();
                    var want = expected.Where(kv => ring.ShardFor(kv.Key) == shard).ToDictionary();
                    return items.Count == want.Count && want.All(kv => items.TryGetValue(kv.Key, out var v) && v == kv.Value);
                }, TimeSpan.FromSeconds(10), $"node{id} holds exactly the keys of {shard}");
            }
        }
        Assert.All(cluster.App.Layout.Keys, shard => Assert.Contains(keys.Keys, k => ring.ShardFor(k) == shard));
    }

    [Fact]
    public async Task Every_node_forwards_reads_and_writes_for_keys_of_other_shards()
    {
        for (var writer = 0; writer < 6; writer++)
        {
            var session = new KvSession();
            for (var i = 0; i < 12; i++)
            {
                var key = $"{_p}w{writer}-{i}";
                var put = await session.PutAsync(cluster.Node(writer), key, $"from{writer}");
                Assert.True(put.Status is HttpStatusCode.Created or HttpStatusCode.OK, $"{put.Status} {put.Error}");
                var reader = (writer + i) % 6;
                var read = await session.GetAsync(cluster.Node(reader), key);
                Assert.Equal(HttpStatusCode.OK, read.Status);
                Assert.Equal($"from{writer}", read.Value);
            }
        }
    }

    [Fact]
    public async Task A_forward_to_a_cut_off_shard_waits_and_answers_once_healed()
    {
        var ring = new HashRing(cluster.App.Layout.Keys);
        var key = Enumerable.Range(0, 1000).Select(i => $"{_p}cut{i}").First(k => ring.ShardFor(k) == "shard1");
        var session = new KvSession();
        await session.PutAsync(cluster.Node(2), key, "behind the cut");

        await cluster.App.CutAsync(0, 2);
        await cluster.App.CutAsync(0, 3);
        var read = session.GetAsync(cluster.Node(0), key);
        Assert.True(await Eventually.IsStillPendingAfter(read, TimeSpan.FromSeconds(2)), "no replica of shard1 is reachable from node0, so the forward waits");
        await cluster.App.HealAsync(0, 2);
        var answer = await read.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("behind the cut", answer.Value);
    }

    [Fact]
    public async Task A_session_dependency_on_another_shard_is_carried_and_honoured()
    {
        var ring = new HashRing(cluster.App.Layout.Keys);
        var onShard1 = Enumerable.Range(0, 1000).Select(i => $"{_p}a{i}").First(k => ring.ShardFor(k) == "shard1");
        var onShard2 = Enumerable.Range(0, 1000).Select(i => $"{_p}b{i}").First(k => ring.ShardFor(k) == "shard2");
        await cluster.App.CutAsync(2, 3);
        var session = new KvSession();
        await session.PutAsync(cluster.Node(2), onShard1, "x1");
        await session.PutAsync(cluster.Node(4), onShard2, "y1");
        var other = new KvSession();
        await Eventually.HoldsAsync(async () => (await other.GetAsync(cluster.Node(5), onShard2)).Value == "y1",
            TimeSpan.FromSeconds(10), "y1 reaches node5");
        // `other` now depends on x1 through y1: reading it at node3, cut off from node2, waits.
        var read = other.GetAsync(cluster.Node(3), onShard1);
        Assert.True(await Eventually.IsStillPendingAfter(read, TimeSpan.FromSeconds(1.5)));
        await cluster.App.HealAsync(2, 3);
        Assert.Equal("x1", (await read.WaitAsync(TimeSpan.FromSeconds(15))).Value);
    }
}
