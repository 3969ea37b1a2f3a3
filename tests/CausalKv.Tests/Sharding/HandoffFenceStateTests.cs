using CausalKv.Causality;
using CausalKv.Sharding;
using static CausalKv.Tests.Sharding.ShardingTestViews;

namespace CausalKv.Tests.Sharding;

public sealed class HandoffFenceStateTests
{
    private static readonly HashRing OldRing = new(["s1", "s2", "s3"]);

    private static IReadOnlyDictionary<string, IReadOnlySet<int>> Sources(params (string Shard, int[] Nodes)[] s) =>
        s.ToDictionary(x => x.Shard, x => (IReadOnlySet<int>)x.Nodes.ToHashSet(), StringComparer.Ordinal);

    private static Frontier F(params (long Origin, long Seq)[] e) => Frontier.Of(e.Select(x => KeyValuePair.Create(x.Origin, x.Seq)));

    private static string KeyOf(string shard) => Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => OldRing.ShardFor(k) == shard);

    [Fact]
    public void A_shard_stays_fenced_until_every_old_node_of_it_reported()
    {
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4, 5])));
        Assert.True(state.IsPending(KeyOf("s3")));
        Assert.False(state.IsPending(KeyOf("s1")));

        state = state.Report(5, new HandoffReport("s3", 4, F())).Lift(F());
        Assert.True(state.IsPending(KeyOf("s3")), "node 5 of s3 has not reported");
        state = state.Report(5, new HandoffReport("s3", 5, F())).Lift(F());
        Assert.False(state.AnyPending);
    }

    [Fact]
    public void A_report_heard_second_hand_lifts_only_once_the_imported_writes_are_here()
    {
        // Node 4 of s3 handed its keys to a replica whose origin is 77; they became its writes up to 120.
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])))
            .Report(5, new HandoffReport("s3", 4, F((77, 120))));
        Assert.True(state.AwaitsWrites);
        Assert.True(state.Lift(F((77, 119), (80, 500))).IsPending(KeyOf("s3")));
        Assert.True(state.Lift(F()).AnyPending);
        var lifted = state.Lift(F((77, 120)));
        Assert.False(lifted.AnyPending);
        Assert.False(lifted.IsPending(KeyOf("s3")));
    }

    [Fact]
    public void The_requirements_of_every_node_of_the_shard_add_up()
    {
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4, 5])))
            .Report(5, new HandoffReport("s3", 4, F((77, 10))))
            .Report(5, new HandoffReport("s3", 5, F((78, 3))));
        Assert.Equal(F((77, 10), (78, 3)), state.Requires("s3"));
        Assert.True(state.Lift(F((77, 10))).AnyPending);
        Assert.False(state.Lift(F((77, 10), (78, 3))).AnyPending);
    }

    [Fact]
    public void Reports_of_an_older_epoch_are_ignored_and_those_of_a_newer_one_wait_for_its_view()
    {
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])));
        Assert.Same(state, state.Report(4, new HandoffReport("s3", 4, F())));
        state = state.Report(6, new HandoffReport("s2", 2, F((9, 1))));
        Assert.Single(state.Early);
        state = state.Begin(6, OldRing, Sources(("s2", [2])));
        Assert.Empty(state.Early);
        Assert.Empty(state.Outstanding("s2"));
        Assert.Equal(["s2", "s3"], state.Lift(F()).PendingShards);
        // s2 lifts; s3 of epoch 5 has not reported yet and stays fenced.
        Assert.Equal(["s3"], state.Lift(F((9, 1))).PendingShards);
    }

    [Fact]
    public void Reports_are_kept_for_gossip_once_each_and_a_repeat_changes_nothing()
    {
        var report = new HandoffReport("s3", 4, F((77, 1)));
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4]))).Report(5, report);
        Assert.Same(state, state.Report(5, report));
        Assert.Equal([report], state.Reports);
        // A report for a shard this replica does not fence is still passed on.
        var other = state.Report(5, new HandoffReport("s1", 1, F()));
        Assert.Equal(2, other.Reports.Count);
        Assert.Equal(["s3"], other.PendingShards);
    }

    [Fact]
    public void A_later_view_does_not_lift_what_an_earlier_one_still_waits_for()
    {
        // Epoch 5 waits for s3's keys (old ring of three shards); epoch 6 comes before s3 reported.
        var newRing = new HashRing(["s1", "s2"]);
        var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => OldRing.ShardFor(k) == "s3" && newRing.ShardFor(k) == "s2");
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])))
            .Begin(6, newRing, Sources(("s1", [0])));
        Assert.True(state.IsPending(key), "the keys of s3 are still on their way");
        Assert.Equal(["s1", "s3"], state.PendingShards);
        Assert.Equal(6, state.Epoch);

        // s3's report belongs to epoch 5 and still counts there; epoch 6's layer is unaffected.
        state = state.Report(5, new HandoffReport("s3", 4, F((77, 2)))).Lift(F((77, 2)));
        Assert.False(state.IsPending(key));
        Assert.Equal(["s1"], state.PendingShards);
        Assert.Contains(5L, state.AllReports.Select(r => r.Epoch));

        // Once epoch 6 lifts too, nothing is pending; the layers stay a while, to pass their reports on.
        state = state.Report(6, new HandoffReport("s1", 0, F())).Lift(F());
        Assert.False(state.AnyPending);
        Assert.Equal([5L, 6L], state.Layers.Select(l => l.Epoch));
    }

    [Fact]
    public void Lifted_layers_are_forgotten_beyond_the_newest_few_and_pending_ones_never()
    {
        var state = HandoffFenceState.None.Begin(1, OldRing, Sources(("s3", [4])));
        for (var epoch = 2; epoch <= 10; epoch++)
            state = state.Begin(epoch, OldRing, Sources(("s1", [100 + epoch]))).Report(epoch, new HandoffReport("s1", 100 + epoch, F())).Lift(F());
        Assert.Equal([1L, 7L, 8L, 9L, 10L], state.Layers.Select(l => l.Epoch));
        Assert.Equal(["s3"], state.PendingShards);
        Assert.True(state.IsPending(KeyOf("s3")));
    }

    [Fact]
    public void A_later_report_of_a_node_lifts_what_it_owed_an_earlier_layer_from_another_shard()
    {
        // Epoch 5: node 4 (then in s3) owes its handoff of s3's keys. Epoch 6 replaced that handoff before its report
        // went out; node 4, in s1 by then, hands off its whole store again and reports from s1.
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])), "s2")
            .Begin(6, OldRing, Sources(("s1", [4, 5])), "s2");
        Assert.True(state.IsPending(KeyOf("s3")));

        // A report of epoch 5 from another node, or of another shard's handoff, lifts nothing.
        Assert.Equal(new HashSet<int> { 4 }, state.Report(5, new HandoffReport("s3", 9, F())).Outstanding("s3"));
        Assert.Same(state, state.Report(6, new HandoffReport("s1", 4, F(), "s0")));

        state = state.Report(6, new HandoffReport("s1", 4, F((70, 3)), "s2"));
        Assert.Equal(["s1", "s3"], state.PendingShards.Order(StringComparer.Ordinal));
        Assert.Equal(F((70, 3)), state.Requires("s3"));
        state = state.Lift(F((70, 3)));
        Assert.False(state.IsPending(KeyOf("s3")), "node 4's later handoff went over its whole store");
        Assert.Equal(["s1"], state.PendingShards);
        Assert.Equal(new HashSet<int> { 5 }, state.Outstanding("s1"));
    }

    [Fact]
    public void A_later_report_names_again_what_the_node_adopted_and_an_older_one_arriving_after_it_changes_nothing()
    {
        // Epoch 4: node 2 moved into this replica's shard s1 and adopted keys as its own writes (origin a, up to 2);
        // node 3's keys were imported by replica 5 (origin c, up to 7).
        var a = CausalKv.Causality.OriginId.Create(2, 100);
        var c = CausalKv.Causality.OriginId.Create(5, 100);
        var state = HandoffFenceState.None.Begin(4, OldRing, Sources(("s3", [2, 3])), "s1")
            .Report(4, new HandoffReport("s3", 2, F((a, 2)), "s1"))
            .Report(4, new HandoffReport("s3", 3, F((c, 7)), "s1"))
            .Begin(5, OldRing, Sources(), "s1");
        Assert.Equal(F((a, 2), (c, 7)), state.Requires("s3"));

        // Epoch 6: node 2 left s1 before its adopted writes reached this replica, and handed s1's keys back: replica
        // 0 imported them (origin b, up to 4). Its report names those instead; node 3's part stays.
        var b = CausalKv.Causality.OriginId.Create(0, 100);
        var later = state.Begin(6, OldRing, Sources(), "s1").Report(6, new HandoffReport("s1", 2, F((b, 4)), "s1"));
        Assert.Equal(F((b, 4), (c, 7)), later.Requires("s3"));
        Assert.True(later.Lift(F((b, 4))).IsPending(KeyOf("s3")));
        Assert.False(later.Lift(F((b, 4), (c, 7))).IsPending(KeyOf("s3")));

        // A report of epoch 5 from node 2, passed on late in gossip, does not undo the newer one.
        Assert.Equal(F((b, 4), (c, 7)), later.Report(5, new HandoffReport("s1", 2, F(), "s1")).Requires("s3"));
        // Nor does the same report again change anything.
        Assert.Equal(F((b, 4), (c, 7)), later.Report(6, new HandoffReport("s1", 2, F((b, 4)), "s1")).Requires("s3"));
    }

    [Fact]
    public void A_replica_that_moves_to_another_shard_stops_waiting_for_what_was_on_its_way_to_its_old_one()
    {
        // Epoch 5: this replica is in s2 and waits for s3's nodes 4 and 5 and for s1's node 0.
        var fenced = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4, 5]), ("s1", [0])), "s2");
        Assert.True(fenced.IsPending(KeyOf("s3")));
        Assert.True(fenced.IsPending(KeyOf("s1")));

        // Epoch 6 moves it into s3. Those keys were going to s2; what s3 gains, the move's own layer fences.
        var moved = fenced.Begin(6, OldRing, Sources(("s1", [0, 7]), ("s2", [8])), "s3");
        Assert.Equal(["s1", "s2"], moved.PendingShards.Order(StringComparer.Ordinal));
        Assert.False(moved.IsPending(KeyOf("s3")));
        Assert.Equal(new HashSet<int> { 0, 7 }, moved.Outstanding("s1"));
        Assert.Equal(5L, moved.Layers[0].Epoch);
        Assert.Empty(moved.Layers[0].Pending);

        // A replica that stays in s2 goes on waiting for both.
        var stayed = fenced.Begin(6, OldRing, Sources(), "s2");
        Assert.True(stayed.IsPending(KeyOf("s3")));
        Assert.Equal(new HashSet<int> { 4, 5 }, stayed.Outstanding("s3"));
    }

    [Fact]
    public void A_report_of_a_handoff_to_another_shard_does_not_lift_this_one()
    {
        // This replica is in s9; node 4 of s3 reported its handoff to s8 (heard from a peer that was in s8 then).
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])), shard: "s9");
        Assert.Same(state, state.Report(5, new HandoffReport("s3", 4, F(), To: "s8")));
        state = state.Report(5, new HandoffReport("s3", 4, F((7, 1)), To: "s9"));
        Assert.Empty(state.Outstanding("s3"));
        Assert.False(state.Lift(F((7, 1))).AnyPending);
    }

    [Fact]
    public void A_later_report_of_the_same_node_and_shard_settles_what_an_earlier_view_still_owed()
    {
        // Node 4's handoff for epoch 5 never arrived; it finished the one for epoch 6, which hands off or keeps
        // whatever it still held.
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])), shard: "s9")
            .Begin(6, OldRing, Sources(("s3", [4])), shard: "s9")
            .Report(6, new HandoffReport("s3", 4, F((7, 2)), To: "s9"));
        Assert.Equal(["s3"], state.PendingShards);
        Assert.False(state.Lift(F((7, 2))).AnyPending);
    }

    [Fact]
    public void A_report_that_still_awaited_keys_leaves_the_shard_fenced_until_their_sender_reports()
    {
        // Epoch 28: this replica of s9 gains s3's keys; s3's only node, 3, reports, but it was itself still waiting for
        // node 1's handoff of some of them (epoch 13, which node 1 never finished). Node 1 now hands them here itself.
        var state = HandoffFenceState.None.Begin(28, OldRing, Sources(("s3", [3]), ("s1", [1])), shard: "s9")
            .Report(28, new HandoffReport("s3", 3, F((30, 2)), To: "s9", Awaits: [1]));
        Assert.True(state.Lift(F((30, 2))).IsPending(KeyOf("s3")), "node 3's report alone must not lift what node 1 still holds");
        Assert.Equal(new HashSet<int> { 1 }, state.Outstanding("s3"));

        // Node 1's report names its own old shard, s1: it counts for s3's keys too, with the writes it names.
        state = state.Report(28, new HandoffReport("s1", 1, F((31, 5)), To: "s9"));
        Assert.True(state.Lift(F((30, 2))).IsPending(KeyOf("s3")), "node 1's keys are not here yet");
        Assert.False(state.Lift(F((30, 2), (31, 5))).AnyPending);
    }

    [Fact]
    public void A_node_named_as_awaited_that_already_reported_or_is_exempt_is_not_waited_for()
    {
        // Node 1 reported first; node 3's report naming it comes second. Node 7 stays in this replica's shard.
        var state = HandoffFenceState.None.Begin(28, OldRing, Sources(("s3", [3]), ("s1", [1])), shard: "s9", exempt: new HashSet<int> { 7, 8 })
            .Report(28, new HandoffReport("s1", 1, F((31, 5)), To: "s9"))
            .Report(28, new HandoffReport("s3", 3, F(), To: "s9", Awaits: [1, 7, 8, 3]));
        Assert.Empty(state.Outstanding("s3"));
        Assert.False(state.Lift(F((31, 5))).AnyPending);
    }

    [Fact]
    public void A_report_of_a_node_named_as_awaited_in_an_earlier_layer_settles_it_from_a_later_view()
    {
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [3])), shard: "s9")
            .Report(5, new HandoffReport("s3", 3, F(), To: "s9", Awaits: [1]))
            .Begin(6, OldRing, Sources(), shard: "s9");
        Assert.True(state.IsPending(KeyOf("s3")));
        state = state.Report(6, new HandoffReport("s2", 1, F((31, 1)), To: "s9"));
        Assert.False(state.Lift(F((31, 1))).AnyPending);
    }

    [Fact]
    public void What_is_still_awaited_names_the_silent_nodes_and_the_importers_of_writes_not_here()
    {
        var importer = OriginId.Create(6, 100);
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4, 5]), ("s1", [0])), shard: "s2")
            .Report(5, new HandoffReport("s1", 0, F((importer, 3)), To: "s2"))
            .Report(5, new HandoffReport("s3", 4, F(), To: "s2"));
        Assert.Equal(new HashSet<int> { 5, 6 }, state.AwaitedBefore(6));
        Assert.Empty(state.AwaitedBefore(5));
        Assert.Equal(new HashSet<int> { 5 }, state.Lift(F((importer, 3))).AwaitedBefore(6));
    }

    [Fact]
    public void A_replica_in_no_shard_of_the_new_view_waits_for_nothing()
    {
        // Epoch 5: this replica of s2 waits for node 4 of s3. Epoch 6 leaves it in no shard: node 4's report goes to
        // s2's other replicas, or to nobody once s2 is gone, and never here.
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s3", [4])), "s2").Leave(6, OldRing);
        Assert.False(state.AnyPending);
        Assert.False(state.IsPending(KeyOf("s3")));
        Assert.Equal(6, state.Epoch);
    }

    [Fact]
    public void Clear_lifts_everything()
    {
        var state = HandoffFenceState.None.Begin(5, OldRing, Sources(("s2", [2]), ("s3", [4]))).Clear();
        Assert.False(state.AnyPending);
        Assert.False(state.IsPending(KeyOf("s2")));
    }

    [Fact]
    public void A_shard_a_node_joins_from_none_stays_fenced_until_it_holds_what_that_node_adopted()
    {
        // Node 0 was in no shard of epoch 9: its handoff of that view stopped before s1 acknowledged a key. Epoch 15
        // puts it into the new shard s5, which now owns the key, with nodes 1, 2 and 3 of s0; node 5 stays in s1.
        var v9 = View(9, ("s0", [1, 2, 3]), ("s1", [5]), ("s2", [4]));
        var v15 = View(15, ("s0", [4]), ("s1", [5]), ("s5", [0, 1, 2, 3]));
        var key = Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => v9.CreateRing().ShardFor(k) == "s1" && v15.CreateRing().ShardFor(k) == "s5");
        var joiner = HandoffPlan.Create(v9, v15, 0);
        Assert.Equal(KeyDisposition.Adopt, joiner.DispositionOf(key));
        Assert.Contains("s5", joiner.AnnounceTo);

        var plan = HandoffPlan.Create(v9, v15, 2);
        Assert.Equal([0], plan.JoiningPeers);
        Assert.Equal([0, 5], plan.FenceSources["s1"].Order());
        var state = HandoffFenceState.None.Begin(15, v9.CreateRing(), plan.FenceSources, plan.NewShard, new HashSet<int> { 2 }, plan.JoiningPeers);
        // Node 5 never held the key: its "done" for s1 does not lift it.
        state = state.Report(15, new HandoffReport("s1", 5, F(), "s5")).Lift(F());
        Assert.True(state.IsPending(key));
        // Node 0 reports from its new shard, naming the write the key became there: it counts for s1, once that write is here.
        state = state.Report(15, new HandoffReport("s5", 0, F((700, 1)), "s5"));
        Assert.Empty(state.Outstanding("s1"));
        Assert.True(state.Lift(F()).IsPending(key));
        Assert.False(state.Lift(F((700, 1))).IsPending(key));
    }

    [Fact]
    public void The_plan_fences_each_incoming_shard_on_its_old_nodes()
    {
        var v1 = View(1, ("s1", [0, 1]), ("s2", [2, 3]), ("s3", [4]));
        var v2 = View(2, ("s1", [0, 1]), ("s2", [2, 3, 4]));
        var stayer = HandoffPlan.Create(v1, v2, 2);
        Assert.Equal(["s1", "s3"], stayer.FenceSources.Keys);
        Assert.Equal([4], stayer.FenceSources["s3"].Order());
        Assert.Equal([0, 1], stayer.FenceSources["s1"].Order());
        var mover = HandoffPlan.Create(v1, v2, 4);
        Assert.Equal(["s1", "s3"], mover.FenceSources.Keys);
    }
}
