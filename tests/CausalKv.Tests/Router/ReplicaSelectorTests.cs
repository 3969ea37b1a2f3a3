using CausalKv.Router.Routing;

namespace CausalKv.Tests.Router;

public sealed class ReplicaSelectorTests
{
    private const long Now = 1_000_000;

    [Fact]
    public void Every_key_is_only_ever_sent_to_replicas_of_its_own_shard()
    {
        var map = RouterTestViews.Map(shards: 3, replicas: 3);
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var key = "key-" + i;
            var shard = map.ShardFor(key);
            Assert.Equal(map.Ring!.ShardFor(key), shard);
            var owners = map.View!.NodesOf(shard).Select(n => n.Id).ToHashSet();
            var order = ReplicaSelector.AttemptOrder(map.ReplicasOf(shard), Now, random);
            Assert.All(order, r => Assert.Contains(r.Id, owners));
        }
    }

    [Fact]
    public void The_attempt_order_holds_each_replica_of_the_shard_exactly_once()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 4).ReplicasOf("s0");
        replicas[2].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        var random = new Random(1);
        for (var i = 0; i < 200; i++)
        {
            var order = ReplicaSelector.AttemptOrder(replicas, Now, random);
            Assert.Equal(replicas.Select(r => r.Id).Order(), order.Select(r => r.Id).Order());
        }
    }

    [Fact]
    public void After_the_first_choice_the_shard_s_next_replicas_follow_in_view_order()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        var random = new Random(3);
        for (var i = 0; i < 100; i++)
        {
            var order = ReplicaSelector.AttemptOrder(replicas, Now, random);
            var first = order[0].Id;
            Assert.Equal([first, (first + 1) % 3, (first + 2) % 3], order.Select(r => r.Id));
        }
    }

    [Fact]
    public void A_replica_ruled_out_by_passive_health_is_not_chosen_first_until_its_penalty_ends()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        replicas[1].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        var random = new Random(5);
        for (var i = 0; i < 500; i++)
        {
            var order = ReplicaSelector.AttemptOrder(replicas, Now + 2_999, random);
            Assert.NotEqual(1, order[0].Id);
            Assert.Equal(1, order[^1].Id); // still tried, last
        }
        var firsts = Enumerable.Range(0, 500).Select(_ => ReplicaSelector.AttemptOrder(replicas, Now + 3_000, random)[0].Id).ToHashSet();
        Assert.Contains(1, firsts);
    }

    [Fact]
    public void A_replica_ruled_out_by_active_health_is_skipped_until_a_probe_says_it_is_healthy()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 2).ReplicasOf("s0");
        replicas[0].Health.ReportProbe(healthy: false);
        var random = new Random(9);
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(1, ReplicaSelector.AttemptOrder(replicas, Now, random)[0].Id));
        replicas[0].Health.ReportProbe(healthy: true);
        Assert.Contains(0, Enumerable.Range(0, 200).Select(_ => ReplicaSelector.AttemptOrder(replicas, Now, random)[0].Id));
    }

    [Fact]
    public void When_every_replica_is_ruled_out_they_are_all_still_tried()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        foreach (var replica in replicas) replica.Health.ReportProbe(healthy: false);
        replicas[0].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        var random = new Random(11);
        var firsts = new HashSet<int>();
        for (var i = 0; i < 300; i++)
        {
            var order = ReplicaSelector.AttemptOrder(replicas, Now, random);
            Assert.Equal(3, order.Length);
            firsts.Add(order[0].Id);
        }
        Assert.Equal([0, 1, 2], firsts.Order());
    }

    [Fact]
    public void The_most_loaded_of_three_replicas_is_never_chosen_first()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        for (var i = 0; i < 10; i++) replicas[2].Begin();
        replicas[0].Begin();
        var random = new Random(13);
        var counts = new int[3];
        for (var i = 0; i < 3000; i++) counts[ReplicaSelector.AttemptOrder(replicas, Now, random)[0].Id]++;
        Assert.Equal(0, counts[2]);
        // The least loaded wins every pair it is in: two pairs of three.
        Assert.InRange(counts[1], 1800, 2200);
    }

    [Fact]
    public void Writes_are_spread_evenly_over_the_available_replicas_whatever_their_load()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        for (var i = 0; i < 10; i++) replicas[2].Begin();
        replicas[1].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        var random = new Random(19);
        var counts = new int[3];
        for (var i = 0; i < 3000; i++) counts[ReplicaSelector.AttemptOrder(replicas, Now, random, isRead: false)[0].Id]++;
        Assert.Equal(0, counts[1]);
        Assert.InRange(counts[0], 1350, 1650);
        Assert.InRange(counts[2], 1350, 1650);
    }

    [Fact]
    public void Power_of_two_choices_keeps_outstanding_requests_balanced_under_uneven_service_times()
    {
        // Replica 0 is four times slower than the others. Requests arrive one per tick; each stays outstanding for
        // its replica's service time. Random choice would pile requests up on the slow replica; P2C sends it fewer.
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        int[] serviceTicks = [8, 2, 2];
        var inFlight = new List<(int Done, Replica Replica)>();
        var random = new Random(17);
        var sent = new int[3];
        var maxOutstanding = 0;
        for (var tick = 0; tick < 30_000; tick++)
        {
            inFlight.RemoveAll(f =>
            {
                if (f.Done > tick) return false;
                f.Replica.End();
                return true;
            });
            var chosen = ReplicaSelector.AttemptOrder(replicas, Now, random)[0];
            chosen.Begin();
            sent[chosen.Id]++;
            inFlight.Add((tick + serviceTicks[chosen.Id], chosen));
            maxOutstanding = Math.Max(maxOutstanding, replicas.Max(r => r.Outstanding));
        }
        Assert.True(sent[0] < sent[1] && sent[0] < sent[2], $"slow replica got {sent[0]}, fast ones {sent[1]} and {sent[2]}");
        Assert.InRange(Math.Abs(sent[1] - sent[2]), 0, 3_000);
        Assert.InRange(maxOutstanding, 1, 4);
    }

    [Fact]
    public void With_equal_load_the_first_choice_spreads_evenly()
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 4).ReplicasOf("s0");
        var random = new Random(19);
        var counts = new int[4];
        for (var i = 0; i < 8000; i++) counts[ReplicaSelector.AttemptOrder(replicas, Now, random)[0].Id]++;
        Assert.All(counts, c => Assert.InRange(c, 1700, 2300));
    }

    [Fact]
    public void A_single_replica_shard_always_gets_its_replica_and_an_empty_shard_gets_none()
    {
        var replicas = RouterTestViews.Map(shards: 2, replicas: 1);
        Assert.Equal(1, ReplicaSelector.AttemptOrder(replicas.ReplicasOf("s1"), Now, new Random(1)).Single().Id);
        Assert.Empty(ReplicaSelector.AttemptOrder(replicas.ReplicasOf("no-such-shard"), Now, new Random(1)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_first_choice_alone_matches_the_head_of_the_whole_order(bool isRead)
    {
        var replicas = RouterTestViews.Map(shards: 1, replicas: 3).ReplicasOf("s0");
        replicas[0].Begin();
        replicas[2].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        for (var seed = 0; seed < 200; seed++)
        {
            var first = ReplicaSelector.ChooseFirst(replicas, Now, new Random(seed), isRead);
            Assert.Same(ReplicaSelector.AttemptOrder(replicas, Now, new Random(seed), isRead)[0], replicas[first]);
        }
        Assert.Equal(-1, ReplicaSelector.ChooseFirst([], Now, new Random(1), isRead));
        Assert.Equal(0, ReplicaSelector.ChooseFirst(RouterTestViews.Map(shards: 1, replicas: 1).ReplicasOf("s0"), Now, new Random(1), isRead));
    }

    [Fact]
    public void The_rest_of_the_order_worked_out_after_a_failed_first_attempt_keeps_the_first_and_puts_it_behind_none()
    {
        // The failover works out the rest of the order only after the first replica failed (and was ruled out).
        var replicas = RouterTestViews.Map(shards: 1, replicas: 4).ReplicasOf("s0");
        replicas[1].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        replicas[3].Health.ReportFailure(Now, TimeSpan.FromSeconds(3));
        var order = ReplicaSelector.AttemptOrder(replicas, first: 1, Now);
        Assert.Equal([1, 2, 0, 3], order.Select(r => r.Id));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReplicaSelector.AttemptOrder(replicas, first: 4, Now));
    }
}
