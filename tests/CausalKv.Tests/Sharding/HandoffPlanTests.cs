using CausalKv.Causality;
using CausalKv.Sharding;
using static CausalKv.Tests.Sharding.ShardingTestViews;

namespace CausalKv.Tests.Sharding;

public sealed class HandoffPlanTests
{
    private static readonly string[] Keys = Enumerable.Range(0, 5000).Select(i => $"key{i}").ToArray();

    [Fact]
    public void FirstView_NoOldView()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]));
        var plan = HandoffPlan.Create(null, v1, 1);

        Assert.Null(plan.OldShard);
        Assert.Equal("s1", plan.NewShard);
        Assert.True(plan.ShardChanged);
        Assert.True(plan.JoinsCluster);
        Assert.Equal(["s1", "s2"], plan.AddedShards);
        Assert.Empty(plan.RemovedShards);
        Assert.Empty(plan.IncomingFromShards);
        Assert.Null(plan.OldRing);
    }

    [Fact]
    public void SameView_NothingMoves()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]));
        var v2 = View(2, ("s1", [2, 1]), ("s2", [3, 4]));
        var plan = HandoffPlan.Create(v1, v2, 1);

        Assert.False(plan.ShardChanged);
        Assert.False(plan.ShardSetChanged);
        Assert.False(plan.MayHandOff);
        Assert.Empty(plan.IncomingFromShards);
        Assert.All(HeldBy(v1, "s1"), k => Assert.False(plan.KeyLeaves(k)));
    }

    [Fact]
    public void AddShard_KeysLeaveOnlyToTheNewShard()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]));
        var v2 = View(2, ("s1", [1, 2]), ("s2", [3, 4]), ("s3", [5, 6]));

        var plan = HandoffPlan.Create(v1, v2, 1);
        Assert.Equal("s1", plan.OldShard);
        Assert.Equal("s1", plan.NewShard);
        Assert.False(plan.ShardChanged);
        Assert.True(plan.ShardSetChanged);
        Assert.Equal(["s3"], plan.AddedShards);
        Assert.Empty(plan.RemovedShards);
        // Stays in an existing shard, shard set changed -> every old shard (conservative rule).
        Assert.Equal(["s1", "s2"], plan.IncomingFromShards);

        var held = HeldBy(v1, "s1");
        int leaving = 0;
        foreach (var key in held)
        {
            string? target = plan.NewOwnerShardOf(key);
            Assert.True(target is null or "s3", $"{key} -> {target}");
            Assert.Equal(target is not null, plan.KeyLeaves(key));
            if (target is not null)
            {
                leaving++;
            }
        }
        // About a third of s1's keys go to s3.
        Assert.InRange(leaving / (double)held.Count, 0.25, 0.42);

        // The new shard's member: joins, may receive from every old shard, holds nothing to hand off.
        var joiner = HandoffPlan.Create(v1, v2, 5);
        Assert.Null(joiner.OldShard);
        Assert.Equal("s3", joiner.NewShard);
        Assert.True(joiner.ShardChanged);
        Assert.True(joiner.JoinsCluster);
        Assert.Equal(["s1", "s2"], joiner.IncomingFromShards);
    }

    [Fact]
    public void RemoveShard_ItsKeysLeaveToSurvivors_OthersKeepTheirs()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]), ("s3", [5, 6]));
        var v2 = View(2, ("s1", [1, 2, 5]), ("s2", [3, 4, 6]));

        // Node 5 was in the removed shard s3 and moves to s1.
        var moved = HandoffPlan.Create(v1, v2, 5);
        Assert.Equal("s3", moved.OldShard);
        Assert.Equal("s1", moved.NewShard);
        Assert.True(moved.ShardChanged);
        Assert.Equal(["s3"], moved.RemovedShards);
        Assert.Empty(moved.AddedShards);
        Assert.Equal(["s1", "s2", "s3"], moved.IncomingFromShards);
        var heldBy5 = HeldBy(v1, "s3");
        var newRing = v2.CreateRing();
        Assert.All(heldBy5, k => Assert.Equal(newRing.ShardFor(k) == "s1" ? null : "s2", moved.NewOwnerShardOf(k)));
        Assert.Contains(heldBy5, k => moved.NewOwnerShardOf(k) == "s2");
        Assert.Contains(heldBy5, k => !moved.KeyLeaves(k));

        // Node 1 stays in s1: nothing of s1's leaves (consistent hashing), and since a shard
        // disappeared it may receive keys from every old shard (superset of the removed s3).
        var stayer = HandoffPlan.Create(v1, v2, 1);
        Assert.False(stayer.ShardChanged);
        Assert.Equal(["s1", "s2", "s3"], stayer.IncomingFromShards);
        Assert.All(HeldBy(v1, "s1"), k => Assert.False(stayer.KeyLeaves(k)));
    }

    [Fact]
    public void MoveNodeBetweenShards_AllItsOldKeysThatBelongElsewhereLeave()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]));
        var v2 = View(2, ("s1", [1]), ("s2", [2, 3, 4]));

        var plan = HandoffPlan.Create(v1, v2, 2);
        Assert.Equal("s1", plan.OldShard);
        Assert.Equal("s2", plan.NewShard);
        Assert.True(plan.ShardChanged);
        Assert.False(plan.ShardSetChanged);
        Assert.True(plan.MayHandOff);
        // Node 2 was not in s2 before: it needs s2's data, and the rule says every old shard.
        Assert.Equal(["s1", "s2"], plan.IncomingFromShards);
        // Every key it held (s1's keys) now belongs to s1, which is not its new shard.
        Assert.All(HeldBy(v1, "s1"), k => Assert.Equal("s1", plan.NewOwnerShardOf(k)));

        // Node 1 stays in s1, ring unchanged: nothing moves, nothing incoming.
        var stayer = HandoffPlan.Create(v1, v2, 1);
        Assert.False(stayer.ShardChanged);
        Assert.False(stayer.MayHandOff);
        Assert.Empty(stayer.IncomingFromShards);
        Assert.All(HeldBy(v1, "s1"), k => Assert.Null(stayer.NewOwnerShardOf(k)));
    }

    [Fact]
    public void RemoveNode_FromAShard_RingUnchanged()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]));
        var v2 = View(2, ("s1", [1]), ("s2", [3, 4]));

        var survivor = HandoffPlan.Create(v1, v2, 1);
        Assert.False(survivor.ShardChanged);
        Assert.False(survivor.ShardSetChanged);
        Assert.Empty(survivor.IncomingFromShards);
        Assert.All(HeldBy(v1, "s1"), k => Assert.False(survivor.KeyLeaves(k)));

        var removed = HandoffPlan.Create(v1, v2, 2);
        Assert.Equal("s1", removed.OldShard);
        Assert.Null(removed.NewShard);
        Assert.True(removed.LeavesCluster);
        Assert.True(removed.ShardChanged);
        Assert.Empty(removed.IncomingFromShards);
        // Not in the new view: every key it held leaves, to its owner under the new view.
        Assert.All(HeldBy(v1, "s1"), k => Assert.Equal("s1", removed.NewOwnerShardOf(k)));
    }

    [Fact]
    public void NodeNotInNewView_WhileShardsChange_EveryKeyLeavesToItsNewOwner()
    {
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3, 4]), ("s3", [5]));
        var v2 = View(2, ("s1", [1, 2]), ("s2", [3, 4]));

        var plan = HandoffPlan.Create(v1, v2, 5);
        Assert.Equal("s3", plan.OldShard);
        Assert.Null(plan.NewShard);
        Assert.True(plan.LeavesCluster);
        Assert.Equal(["s3"], plan.RemovedShards);
        Assert.Empty(plan.IncomingFromShards);
        var ring = v2.CreateRing();
        foreach (var key in HeldBy(v1, "s3"))
        {
            Assert.True(plan.KeyLeaves(key));
            Assert.Equal(ring.ShardFor(key), plan.NewOwnerShardOf(key));
        }
    }

    [Fact]
    public void NodeInNeitherView_IsInert()
    {
        var v1 = View(1, ("s1", [1]));
        var v2 = View(2, ("s1", [1]), ("s2", [2]));
        var plan = HandoffPlan.Create(v1, v2, 42);
        Assert.Null(plan.OldShard);
        Assert.Null(plan.NewShard);
        Assert.False(plan.ShardChanged);
        Assert.Empty(plan.IncomingFromShards);
    }

    [Fact]
    public void NewShardDidNotExist_NodeWasInIt_ByNameNoLongerMatches_ReceivesFromAll()
    {
        // Shard renamed s1 -> t1 with the same members: to the ring it is a new shard.
        var v1 = View(1, ("s1", [1, 2]), ("s2", [3]));
        var v2 = View(2, ("t1", [1, 2]), ("s2", [3]));
        var plan = HandoffPlan.Create(v1, v2, 1);
        Assert.Equal("s1", plan.OldShard);
        Assert.Equal("t1", plan.NewShard);
        Assert.Equal(["t1"], plan.AddedShards);
        Assert.Equal(["s1"], plan.RemovedShards);
        Assert.Equal(["s1", "s2"], plan.IncomingFromShards);
    }

    /// <summary>Keys (from a fixed sample) owned by <paramref name="shard"/> under <paramref name="view"/>.</summary>
    private static List<string> HeldBy(ShardView view, string shard)
    {
        var ring = view.CreateRing();
        var held = Keys.Where(k => ring.ShardFor(k) == shard).ToList();
        Assert.NotEmpty(held);
        return held;
    }
}

public sealed class HandoffPlanDispositionTests
{
    private static readonly string[] Keys = Enumerable.Range(0, 3000).Select(i => $"key{i}").ToArray();

    [Fact]
    public void A_node_of_a_removed_shard_that_joins_the_gaining_shard_adopts_its_keys_and_hands_off_the_rest()
    {
        var v1 = View(1, ("s1", [0, 1]), ("s2", [2, 3]), ("s3", [4]));
        var v2 = View(2, ("s1", [0, 1]), ("s2", [2, 3, 4]));
        var plan = HandoffPlan.Create(v1, v2, 4);
        var held = Keys.Where(k => v1.CreateRing().ShardFor(k) == "s3").ToList();
        var ring = v2.CreateRing();
        Assert.All(held, k => Assert.Equal(
            ring.ShardFor(k) == "s2" ? KeyDisposition.Adopt : KeyDisposition.HandOffTo("s1"), plan.DispositionOf(k)));
        Assert.Contains(held, k => plan.DispositionOf(k).Move == KeyMove.Adopt);
        Assert.Contains(held, k => plan.DispositionOf(k).Move == KeyMove.HandOff);
        // Its new peers and s1 both fence s3: both must hear it is done.
        Assert.Equal(["s1", "s2"], plan.AnnounceTo);
    }

    [Fact]
    public void A_node_that_stays_keeps_its_keys_and_announces_to_the_other_shards()
    {
        var v1 = View(1, ("s1", [0, 1]), ("s2", [2, 3]));
        var v2 = View(2, ("s1", [0, 1]), ("s2", [2, 3]), ("s3", [4]));
        var plan = HandoffPlan.Create(v1, v2, 0);
        var ring = v2.CreateRing();
        Assert.All(Keys.Where(k => v1.CreateRing().ShardFor(k) == "s1"), k => Assert.Equal(
            ring.ShardFor(k) == "s1" ? KeyDisposition.Keep : KeyDisposition.HandOffTo(ring.ShardFor(k)), plan.DispositionOf(k)));
        Assert.Equal(["s2", "s3"], plan.AnnounceTo);
    }

    [Fact]
    public void A_node_without_a_change_keeps_everything_and_a_joining_node_announces_only_to_the_shard_it_joins()
    {
        var v1 = View(1, ("s1", [0, 1]), ("s2", [2, 3]));
        var same = HandoffPlan.Unchanged(v1, 0);
        Assert.All(Keys.Where(k => v1.CreateRing().ShardFor(k) == "s1"), k => Assert.Equal(KeyDisposition.Keep, same.DispositionOf(k)));
        var v2 = View(2, ("s1", [0, 1, 5]), ("s2", [2, 3]));
        var joiner = HandoffPlan.Create(v1, v2, 5);
        // What it holds of its new shard's keys (left from a handoff that did not finish) its new peers never held.
        Assert.Equal(["s1"], joiner.AnnounceTo);
        Assert.All(Keys.Where(k => v2.CreateRing().ShardFor(k) == "s1"), k => Assert.Equal(KeyDisposition.Adopt, joiner.DispositionOf(k)));
        // It waits for every other old shard's nodes (they announce to it).
        Assert.Equal(["s2"], joiner.FenceSources.Keys);
        Assert.Equal([2, 3], joiner.FenceSources["s2"].Order());
        Assert.Empty(joiner.JoiningPeers);
        // The members that stay fence their own keys on it: the ring is the same, so nothing else comes.
        var stayer = HandoffPlan.Create(v1, v2, 0);
        Assert.Equal([5], stayer.JoiningPeers);
        Assert.Equal(["s1"], stayer.FenceSources.Keys);
        Assert.Equal([5], stayer.FenceSources["s1"].Order());
        // A node with no view before, and one in no shard before nor after, announce nothing.
        Assert.Empty(HandoffPlan.Create(null, v2, 5).AnnounceTo);
        Assert.Empty(HandoffPlan.Create(v1, v2, 9).AnnounceTo);
    }
}

public sealed class HandoffPlanCatchUpTests
{
    private static ShardView View(long epoch, params (string Shard, int[] Ids)[] shards) =>
        ShardView.Create(epoch, shards.ToDictionary(s => s.Shard,
            s => (IReadOnlyList<ViewNode>)s.Ids.Select(id => new ViewNode($"127.0.0.1:{7000 + id}", id)).ToList()));

    [Fact]
    public void A_node_new_to_a_shard_catches_up_only_from_members_that_were_there_before()
    {
        // s0 is removed; its nodes 0 and 1 join s2, whose only established member is node 3.
        var v1 = View(1, ("s0", [0, 1]), ("s2", [3]));
        var v2 = View(2, ("s2", [3, 0, 1]));
        Assert.Equal([3], HandoffPlan.Create(v1, v2, 0).EstablishedPeers);
        Assert.Equal([3], HandoffPlan.Create(v1, v2, 1).EstablishedPeers);
        // the established member keeps its own shard, which nobody needs to fence for it
        Assert.DoesNotContain("s2", HandoffPlan.Create(v1, v2, 3).FenceSources.Keys);
        Assert.DoesNotContain("s2", HandoffPlan.Create(v1, v2, 0).FenceSources.Keys);
    }

    [Fact]
    public void When_every_member_of_a_shard_leaves_the_newcomers_fence_it_and_the_leavers_announce_to_it()
    {
        // s1's nodes 2 and 3 move to s0; nodes 4 and 5 take s1 over.
        var v1 = View(1, ("s0", [0, 1]), ("s1", [2, 3]), ("s9", [4, 5]));
        var v2 = View(2, ("s0", [0, 1, 2, 3]), ("s1", [4, 5]));
        var newcomer = HandoffPlan.Create(v1, v2, 4);
        Assert.Empty(newcomer.EstablishedPeers);
        Assert.Equal(new HashSet<int> { 2, 3 }, newcomer.FenceSources["s1"]);
        foreach (var leaver in new[] { 2, 3 })
            Assert.Contains("s1", HandoffPlan.Create(v1, v2, leaver).AnnounceTo);
        // a member that stays announces to every shard but its own
        Assert.DoesNotContain("s0", HandoffPlan.Create(v1, v2, 0).AnnounceTo);
    }

    [Fact]
    public void A_brand_new_shard_has_no_established_members_and_nothing_of_its_own_to_fence()
    {
        var v1 = View(1, ("s0", [0, 1]));
        var v2 = View(2, ("s0", [0, 1]), ("s1", [2, 3]));
        var plan = HandoffPlan.Create(v1, v2, 2);
        Assert.Empty(plan.EstablishedPeers);
        Assert.DoesNotContain("s1", plan.FenceSources.Keys);
        Assert.Contains("s0", plan.FenceSources.Keys);
    }

    /// <summary>
    /// Node 5 joined s1 (nodes 1 and 2 held its data) and has not caught up when a view moves node 1, or nodes 1 and 2,
    /// to s2. It catches up from whichever of them stays; when none does, nobody in s1 holds what it lacks, so it stops
    /// waiting for a catch-up and fences s1 on the nodes that left, which hand s1's keys back and announce it.
    /// </summary>
    [Fact]
    public void A_replica_still_catching_up_whose_peers_leave_its_shard_waits_for_their_handoff_instead()
    {
        var v1 = View(1, ("s1", [1, 2, 5]), ("s2", [3, 4]));
        var catchingUp = new HashSet<int> { 1, 2 };

        var oneStays = HandoffPlan.Create(v1, View(2, ("s1", [2, 5]), ("s2", [1, 3, 4])), 5, catchingUp);
        Assert.False(oneStays.ShardChanged);
        Assert.Equal([2], oneStays.CatchUpFrom);
        // Node 1, which left, may still answer s1's keys on the old view: s1 is fenced on it alone.
        Assert.Equal([1], oneStays.FenceSources["s1"].Order());

        var bothLeave = HandoffPlan.Create(v1, View(2, ("s1", [5]), ("s2", [1, 2, 3, 4])), 5, catchingUp);
        Assert.Empty(bothLeave.CatchUpFrom);
        Assert.Equal([1, 2], bothLeave.FenceSources["s1"].Order());
        // The nodes that left announce to the shard they left.
        Assert.Contains("s1", HandoffPlan.Create(v1, View(2, ("s1", [5]), ("s2", [1, 2, 3, 4])), 1).AnnounceTo);

        // Caught up, the same change asks no catch-up of it, but it still fences s1 on the nodes that left (below).
        var caughtUp = HandoffPlan.Create(v1, View(2, ("s1", [5]), ("s2", [1, 2, 3, 4])), 5);
        Assert.Empty(caughtUp.CatchUpFrom);
        Assert.Equal([1, 2], caughtUp.FenceSources["s1"].Order());
    }

    /// <summary>
    /// Node 0 stays alone in s0 while nodes 1 and 2 move to s1. Until the new view reaches them, they still answer s0's
    /// keys from their copies, so node 0 may not take its own new writes for stable (and let sessions drop their
    /// dependencies on them) before both reported their handoff to s0, which they announce as the shard they left.
    /// </summary>
    [Fact]
    public void A_member_that_stays_while_others_leave_its_shard_fences_it_until_they_reported()
    {
        var v6 = View(6, ("s0", [0, 1, 2]), ("s1", [3, 4]));
        var v7 = View(7, ("s0", [0]), ("s1", [1, 2, 3, 4]));
        var stayer = HandoffPlan.Create(v6, v7, 0);
        Assert.False(stayer.ShardChanged);
        Assert.Equal(["s0"], stayer.FenceSources.Keys);
        Assert.Equal([1, 2], stayer.FenceSources["s0"].Order());
        foreach (var leaver in new[] { 1, 2 })
            Assert.Contains("s0", HandoffPlan.Create(v6, v7, leaver).AnnounceTo);

        var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => v6.CreateRing().ShardFor(k) == "s0");
        var fence = HandoffFenceState.None.Begin(7, v6.CreateRing(), stayer.FenceSources, stayer.NewShard);
        Assert.True(fence.IsPending(key));
        fence = fence.Report(7, new HandoffReport("s0", 1, Frontier.Empty, "s0")).Lift(Frontier.Empty);
        Assert.True(fence.IsPending(key), "node 2 still answers s0's keys on the old view");
        fence = fence.Report(7, new HandoffReport("s0", 2, Frontier.Empty, "s0")).Lift(Frontier.Empty);
        Assert.False(fence.AnyPending);

        // Several members staying behind fence it on the one that left just the same.
        var oneLeaves = HandoffPlan.Create(v6, View(7, ("s0", [0, 1]), ("s1", [2, 3, 4])), 0);
        Assert.Equal([2], oneLeaves.FenceSources["s0"].Order());
    }
}
