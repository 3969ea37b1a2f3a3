using CausalKv.Client.Routing;
using CausalKv.Sharding;

namespace CausalKv.Tests.Client;

/// <summary>The client's routing decisions, on the pure types: which replica, in which order, and when the view is refreshed.</summary>
public sealed class RoutingDecisionTests
{
    private static ReplicaEndpoint[] Replicas(int n) =>
        [.. Enumerable.Range(0, n).Select(i => new ReplicaEndpoint(new ViewNode($"127.0.9.{i}:9000", i)))];

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(5, true)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(5, false)]
    public void Every_replica_is_tried_exactly_once(int n, bool isRead)
    {
        var replicas = Replicas(n);
        replicas[0].FailedToConnect(0, TimeSpan.FromSeconds(3));
        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var order = ReplicaOrder.For(replicas, 1000, random, isRead);
            Assert.Equal(n, order.Length);
            Assert.Equal(n, order.Distinct().Count());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_replica_that_failed_to_connect_comes_last_until_its_penalty_passed(bool isRead)
    {
        var replicas = Replicas(3);
        replicas[1].FailedToConnect(nowMs: 1_000, TimeSpan.FromSeconds(3));
        var random = new Random(1);
        for (var i = 0; i < 100; i++)
        {
            Assert.Same(replicas[1], ReplicaOrder.For(replicas, 3_999, random, isRead)[^1]);
        }
        var firsts = Enumerable.Range(0, 300).Select(_ => ReplicaOrder.For(replicas, 4_000, random, isRead)[0]).ToHashSet();
        Assert.Contains(replicas[1], firsts);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void After_the_first_choice_the_others_follow_in_view_order_available_first(bool isRead)
    {
        var replicas = Replicas(4);
        replicas[2].FailedToConnect(0, TimeSpan.FromSeconds(10));
        var random = new Random(3);
        for (var i = 0; i < 100; i++)
        {
            var order = ReplicaOrder.For(replicas, 1, random, isRead);
            var first = Array.IndexOf(replicas, order[0]);
            Assert.NotEqual(2, first);
            var expected = Enumerable.Range(1, 3).Select(step => (first + step) % 4).Where(j => j != 2).Append(2).Select(j => replicas[j]);
            Assert.Equal(expected, order.Skip(1));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_shard_whose_replicas_all_failed_is_still_tried(bool isRead)
    {
        var replicas = Replicas(2);
        foreach (var r in replicas) r.FailedToConnect(0, TimeSpan.FromSeconds(10));
        var order = ReplicaOrder.For(replicas, 1, new Random(5), isRead);
        Assert.Equal(2, order.Length);
    }

    [Fact]
    public void Of_two_replicas_the_less_loaded_takes_a_read()
    {
        var replicas = Replicas(2);
        replicas[0].Begin();
        replicas[0].Begin();
        var random = new Random(11);
        for (var i = 0; i < 50; i++) Assert.Same(replicas[1], ReplicaOrder.For(replicas, 0, random, isRead: true)[0]);
    }

    /// <summary>A write costs every replica of its shard alike: steering writes to the less loaded one only piles them up there.</summary>
    [Fact]
    public void Writes_are_spread_evenly_whatever_the_replicas_load()
    {
        var replicas = Replicas(2);
        replicas[0].Begin();
        replicas[0].Begin();
        var random = new Random(17);
        var counts = new int[2];
        for (var i = 0; i < 2000; i++) counts[Array.IndexOf(replicas, ReplicaOrder.For(replicas, 0, random, isRead: false)[0])]++;
        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Equally_loaded_replicas_share_the_requests(bool isRead)
    {
        var replicas = Replicas(3);
        var random = new Random(13);
        var counts = new int[3];
        for (var i = 0; i < 3000; i++) counts[Array.IndexOf(replicas, ReplicaOrder.For(replicas, 0, random, isRead)[0])]++;
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
    }

    [Fact]
    public void The_table_hashes_keys_as_the_nodes_ring_does()
    {
        var view = FakeNodes.TwoReplicaShards(3);
        var table = RoutingTable.For(view, 0);
        var ring = new HashRing(["s2", "s0", "s1"]);
        for (var i = 0; i < 1000; i++) Assert.Equal(ring.ShardFor($"key{i}"), table.ShardFor($"key{i}"));
        Assert.Equal(view.NodesOf("s1"), table.ReplicasOf("s1").Select(r => r.Node));
    }

    [Fact]
    public void A_newer_view_keeps_what_the_client_knows_of_nodes_that_stay()
    {
        var old = RoutingTable.For(FakeNodes.TwoReplicaShards(2, epoch: 1), 0);
        old.ReplicasOf("s0")[0].FailedToConnect(0, TimeSpan.FromSeconds(10));
        var newer = FakeNodes.TwoReplicaShards(3, epoch: 2);
        Assert.True(RoutingTable.ShouldAdopt(old, newer));
        Assert.False(RoutingTable.ShouldAdopt(old, FakeNodes.TwoReplicaShards(3, epoch: 1)));
        var next = RoutingTable.For(newer, 5, old);
        Assert.Same(old.ReplicasOf("s0")[0], next.ReplicasOf("s0")[0]);
        Assert.False(next.ReplicasOf("s0")[0].IsAvailable(5));
        Assert.Equal(3, next.View.ShardNames.Count);
    }

    [Theory]
    [InlineData(503, true, null, null, nameof(ViewRefreshReason.NodeNotServing))]
    [InlineData(503, false, null, null, nameof(ViewRefreshReason.None))]
    [InlineData(508, false, null, null, nameof(ViewRefreshReason.ForwardLoop))]
    [InlineData(200, false, "s1", "s0", nameof(ViewRefreshReason.NodeMovedShard))]
    [InlineData(200, false, "s0", "s0", nameof(ViewRefreshReason.None))]
    [InlineData(404, false, null, null, nameof(ViewRefreshReason.None))]
    [InlineData(400, false, "s1", "s0", nameof(ViewRefreshReason.None))]
    public void What_an_answer_says_about_the_view(int status, bool notServing, string? answered, string? asked, string expected) =>
        Assert.Equal(Enum.Parse<ViewRefreshReason>(expected), ViewRefresh.ForAnswer(status, notServing, answered, asked));

    [Fact]
    public void Only_answers_that_applied_nothing_are_sent_again_and_an_unreachable_shard_only_under_a_newer_view()
    {
        Assert.True(ViewRefresh.RetryAfterRefresh(ViewRefreshReason.NodeNotServing, 3, 3));
        Assert.True(ViewRefresh.RetryAfterRefresh(ViewRefreshReason.ForwardLoop, 3, 4));
        Assert.True(ViewRefresh.RetryAfterRefresh(ViewRefreshReason.NodeMovedShard, 3, 4));
        Assert.False(ViewRefresh.RetryAfterRefresh(ViewRefreshReason.ShardUnreachable, 3, 3));
        Assert.True(ViewRefresh.RetryAfterRefresh(ViewRefreshReason.ShardUnreachable, 3, 4));
        Assert.False(ViewRefresh.RetryAfterRefresh(ViewRefreshReason.None, 3, 4));
    }

    [Fact]
    public void A_view_ages_after_the_refresh_interval()
    {
        Assert.False(ViewRefresh.IsAged(1_000, 5_999, TimeSpan.FromSeconds(5)));
        Assert.True(ViewRefresh.IsAged(1_000, 6_000, TimeSpan.FromSeconds(5)));
    }
}
