using CausalKv.Causality;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Sharding;

namespace CausalKv.Tests.Storage;

/// <summary>
/// A node restarted in the middle of a view change must resume it: the view it planned from, the keys still on their
/// way to it (fenced), and the peers it had yet to catch up with. These tests restart by reading the file back.
/// </summary>
public sealed class MembershipFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("causalkv-membership-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ShardView OldView = ShardView.Create(4, new Dictionary<string, IReadOnlyList<ViewNode>>
    {
        ["s0"] = [new("n0:8080", 0), new("n1:8080", 1)],
        ["s1"] = [new("n2:8080", 2), new("n3:8080", 3)],
    });

    private static readonly ShardView NewView = ShardView.Create(5, new Dictionary<string, IReadOnlyList<ViewNode>>
    {
        ["s0"] = [new("n0:8080", 0)],
        ["s1"] = [new("n2:8080", 2), new("n3:8080", 3)],
        ["s2"] = [new("n1:8080", 1), new("n4:8080", 4)],
    });

    private static Frontier F(params (long Origin, long Seq)[] e) => Frontier.Of(e.Select(x => KeyValuePair.Create(x.Origin, x.Seq)));

    /// <summary>Node 4 joins the new shard s2: keys of s0 and s1 come to it by handoff; s0 has reported half, s1 nothing yet.</summary>
    private static HandoffFenceState MidHandoff()
    {
        return HandoffFenceState.None
            .Begin(NewView.Epoch, OldView.CreateRing(), new Dictionary<string, IReadOnlySet<int>>(StringComparer.Ordinal)
            {
                ["s0"] = new HashSet<int> { 0, 1 },
                ["s1"] = new HashSet<int> { 2, 3 },
            })
            .Report(5, new HandoffReport("s0", 0, F((70, 12))))
            .Report(6, new HandoffReport("s1", 2, F((71, 3))));
    }

    private static string Show(HandoffReport r) =>
        $"{r.Shard}/{r.Node}/{string.Join(",", r.Requires.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value}"))}";

    private static string KeyOwnedBefore(string shard) =>
        Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => OldView.CreateRing().ShardFor(k) == shard && NewView.CreateRing().ShardFor(k) == "s2");

    [Fact]
    public void A_restart_keeps_the_promises_of_views_not_installed_yet()
    {
        var file = new MembershipFile(_dir);
        file.SaveView(OldView, HandoffFenceState.None, new HashSet<int>());
        file.SavePromise(NewView.WithEpoch(7));
        file.SavePromise(NewView);

        var record = new MembershipFile(_dir).Load();

        Assert.Equal([5L, 7L], record.Promises.Views.Select(v => v.Epoch));
        Assert.True(record.Promises.At(5)!.SameLayoutAs(NewView));
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(record.View, record.Promises, OldView.WithEpoch(NewView.Epoch)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(record.View, record.Promises, OldView.WithEpoch(6)).Verdict);
    }

    [Fact]
    public void Installing_an_epoch_spends_the_promises_up_to_it_and_higher_promises_outlive_it()
    {
        var file = new MembershipFile(_dir);
        file.SavePromise(NewView);
        file.SaveView(NewView, HandoffFenceState.None, new HashSet<int>());
        Assert.Empty(new MembershipFile(_dir).Load().Promises.Views);

        file.SavePromise(OldView.WithEpoch(9));
        file.SavePromise(OldView.WithEpoch(7));
        file.SaveView(OldView.WithEpoch(7), HandoffFenceState.None, new HashSet<int>());
        Assert.Equal([9L], new MembershipFile(_dir).Load().Promises.Views.Select(v => v.Epoch));
    }

    [Fact]
    public void A_restart_keeps_the_floor_of_promises_dropped_for_the_bound()
    {
        var file = new MembershipFile(_dir);
        file.SaveView(OldView, HandoffFenceState.None, new HashSet<int>());
        for (var e = 5; e <= 5 + ViewPromises.MaxCount; e++) file.SavePromise(NewView.WithEpoch(e));

        var record = new MembershipFile(_dir).Load();

        Assert.Equal(5, record.Promises.Floor);
        Assert.Equal(ViewPromises.MaxCount, record.Promises.Views.Count);
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(record.View, record.Promises, OldView.WithEpoch(5)).Verdict);
        file.SaveView(NewView.WithEpoch(6), HandoffFenceState.None, new HashSet<int>());
        Assert.Equal(0, new MembershipFile(_dir).Load().Promises.Floor);
    }

    [Fact]
    public void A_restart_resumes_the_view_the_fence_and_the_catch_up_as_they_were()
    {
        var fence = MidHandoff();
        new MembershipFile(_dir).SaveView(NewView, fence, new HashSet<int> { 1 });

        var record = new MembershipFile(_dir).Load();

        Assert.NotNull(record.View);
        Assert.True(record.View.SameLayoutAs(NewView));
        Assert.Equal(NewView.Epoch, record.View.Epoch);
        Assert.Equal([1], record.CatchUpFrom);
        var resumed = record.Fence;
        Assert.Equal(fence.Epoch, resumed.Epoch);
        Assert.Equal(fence.PendingShards, resumed.PendingShards);
        Assert.Equal(new HashSet<int> { 1 }, resumed.Outstanding("s0"));
        Assert.Equal(F((70, 12)), resumed.Requires("s0"));
        Assert.Equal(new HashSet<int> { 2, 3 }, resumed.Outstanding("s1"));
        Assert.Equal(fence.Reports.Select(Show), resumed.Reports.Select(Show));
        Assert.Equal(fence.Early.Select(e => $"{e.Epoch}:{Show(e.Report)}"), resumed.Early.Select(e => $"{e.Epoch}:{Show(e.Report)}"));
        Assert.Single(resumed.Early);
        Assert.True(resumed.IsPending(KeyOwnedBefore("s0")));
        Assert.True(resumed.IsPending(KeyOwnedBefore("s1")));

        // The resumed fence goes on as the old one would have: node 1's report and the writes it names lift s0.
        var lifted = resumed.Report(5, new HandoffReport("s0", 1, F())).Lift(F((70, 12)));
        Assert.Equal(["s1"], lifted.PendingShards);
        Assert.False(lifted.IsPending(KeyOwnedBefore("s0")));
    }

    [Fact]
    public void A_node_a_view_left_out_is_kept_with_its_address_across_a_restart_while_the_fence_waits_for_it()
    {
        var withFive = ShardView.Create(4, new Dictionary<string, IReadOnlyList<ViewNode>>
        {
            ["s0"] = [new("n0:8080", 0), new("n1:8080", 1)],
            ["s1"] = [new("n2:8080", 2), new("n3:8080", 3), new("n5:8080", 5)],
        });
        // Node 4 joins s2 and waits for s1's old nodes, node 5 among them, which the new view leaves out.
        var fence = HandoffFenceState.None.Begin(NewView.Epoch, withFive.CreateRing(), new Dictionary<string, IReadOnlySet<int>>(StringComparer.Ordinal)
        {
            ["s0"] = new HashSet<int> { 0, 1 },
            ["s1"] = new HashSet<int> { 2, 3, 5 },
        });
        var file = new MembershipFile(_dir);
        file.SaveView(withFive, HandoffFenceState.None, new HashSet<int>());
        Assert.Empty(file.Current.Departed);
        file.SaveView(NewView, fence, new HashSet<int>());

        var restarted = new MembershipFile(_dir).Load();
        Assert.Equal([new DepartedNode(new ViewNode("n5:8080", 5), NewView.Epoch)], restarted.Departed);
        Assert.Equal([5], DepartedNodes.StillAwaited(restarted.Departed, restarted.Fence).Select(d => d.Node.Id));
        // Its report arrives: no longer waited for, so no longer named, though still kept until the next view.
        var heard = restarted.Fence.Report(NewView.Epoch, new HandoffReport("s1", 5, F()));
        Assert.Empty(DepartedNodes.StillAwaited(restarted.Departed, heard));
    }

    [Fact]
    public void Later_changes_keep_what_they_do_not_change()
    {
        var first = new MembershipFile(_dir);
        first.SaveView(NewView, MidHandoff(), new HashSet<int> { 1 });
        first.SaveCatchUp(new HashSet<int>());
        first.SaveFence(MidHandoff().Report(5, new HandoffReport("s0", 1, F())));

        var record = new MembershipFile(_dir).Load();
        Assert.Equal(NewView.Epoch, record.View!.Epoch);
        Assert.Empty(record.CatchUpFrom);
        Assert.Empty(record.Fence.Outstanding("s0"));

        // A file loaded and saved again keeps the rest.
        var again = new MembershipFile(_dir);
        again.Load();
        again.SaveCatchUp(new HashSet<int> { 3 });
        var third = new MembershipFile(_dir).Load();
        Assert.Equal(NewView.Epoch, third.View!.Epoch);
        Assert.Equal(["s0", "s1"], third.Fence.PendingShards);
        Assert.Equal([3], third.CatchUpFrom);
    }

    [Fact]
    public void A_node_that_never_installed_a_view_starts_with_none()
    {
        var record = new MembershipFile(_dir).Load();
        Assert.Null(record.View);
        Assert.False(record.Fence.AnyPending);
        Assert.Empty(record.CatchUpFrom);
    }

    [Fact]
    public void Without_a_data_directory_nothing_is_kept()
    {
        var file = new MembershipFile(null);
        file.SaveView(NewView, MidHandoff(), new HashSet<int> { 1 });
        Assert.False(file.Durable);
        Assert.Null(file.Load().View);
    }

    [Fact]
    public void A_handoff_left_unfinished_is_planned_again_after_a_restart_and_told_only_to_the_shards_still_owed()
    {
        // Node 1 leaves s0 for the new shard s2: it owes s0, s1 and s2 its "done", and adopts the keys s2 now owns.
        var plan = HandoffPlan.Create(OldView, NewView, nodeId: 1, new HashSet<int>());
        var owed = OwedHandoff.For(plan, new HashSet<int>(), F((70, 12)));
        Assert.NotNull(owed);
        Assert.Equal(["s0", "s1", "s2"], owed.Owed.Order(StringComparer.Ordinal));
        var file = new MembershipFile(_dir);
        file.SaveView(NewView, MidHandoff(), new HashSet<int>(), owed);
        file.SaveAdopted(NewView.Epoch, F((1, 40)));
        file.SaveReported(NewView.Epoch, "s1");
        file.SaveReported(OldView.Epoch, "s0"); // another epoch's report changes nothing

        // The node crashes; restarted, it plans the same handoff again, with what it already did.
        var restarted = new MembershipFile(_dir);
        var record = restarted.Load();
        var resumed = restarted.OwedFor(NewView.Epoch);
        Assert.NotNull(resumed);
        Assert.Same(record.Handoff, resumed);
        Assert.Equal(["s0", "s2"], resumed.Owed.Order(StringComparer.Ordinal));
        Assert.Equal(F((1, 40)), resumed.AdoptedAs);
        Assert.Equal(F((70, 12)), resumed.SourceStable);
        Assert.Null(restarted.OwedFor(OldView.Epoch));
        var again = resumed.Plan(record.View!, 1);
        Assert.Equal(plan.OldShard, again.OldShard);
        Assert.Equal(plan.NewShard, again.NewShard);
        Assert.Equal(plan.AnnounceTo, again.AnnounceTo);
        Assert.Equal(plan.FenceSources.Keys, again.FenceSources.Keys);
        foreach (var key in Enumerable.Range(0, 200).Select(i => $"k{i}"))
            Assert.Equal(plan.DispositionOf(key), again.DispositionOf(key));

        // The last shard to take the report ends what is owed, also in the file.
        restarted.SaveReported(NewView.Epoch, "s0");
        restarted.SaveReported(NewView.Epoch, "s2");
        Assert.Null(restarted.OwedFor(NewView.Epoch));
        Assert.Null(new MembershipFile(_dir).Load().Handoff);
        Assert.True(new MembershipFile(_dir).Load().View!.SameLayoutAs(NewView));
    }

    [Fact]
    public void A_report_that_superseded_an_earlier_one_is_remembered_across_a_restart()
    {
        // Node 0 reported for epoch 5 (naming its own writes, origin 0.9); its report of epoch 6 names what they became.
        var own = CausalKv.Causality.OriginId.Create(0, 9);
        var fence = MidHandoff().Report(5, new HandoffReport("s0", 1, F((own, 4))))
            .Begin(6, OldView.CreateRing(), new Dictionary<string, IReadOnlySet<int>>(StringComparer.Ordinal), "s2")
            .Report(6, new HandoffReport("s3", 0, F((80, 2))));
        Assert.Equal(6L, fence.Layers[0].PendingFor("s0")!.Superseded![0]);
        new MembershipFile(_dir).SaveView(NewView, fence, new HashSet<int>());

        var resumed = new MembershipFile(_dir).Load().Fence;
        var s0 = resumed.Layers[0].PendingFor("s0")!;
        Assert.Equal(6L, s0.Superseded![0]);
        Assert.Equal(fence.Layers[0].PendingFor("s0")!.Requires, s0.Requires);
        // An older report of node 0 arriving after the restart still changes nothing.
        Assert.Equal(s0.Requires, resumed.Report(5, new HandoffReport("s0", 0, F((own, 9)))).Layers[0].PendingFor("s0")!.Requires);
    }

    [Fact]
    public void Nodes_a_report_named_as_still_awaited_are_waited_for_across_a_restart()
    {
        // Node 0 of s0 reported, but was itself still waiting for node 3's keys; node 1 stays in this replica's shard.
        var fence = HandoffFenceState.None
            .Begin(5, OldView.CreateRing(), new Dictionary<string, IReadOnlySet<int>>(StringComparer.Ordinal) { ["s0"] = new HashSet<int> { 0 } },
                "s2", exempt: new HashSet<int> { 1, 4 })
            .Report(5, new HandoffReport("s0", 0, F((70, 1)), "s2", Awaits: [3, 1]));
        var owed = new OwedHandoff(OldView, new HashSet<int>(), null, new HashSet<string> { "s1" }, Awaits: new HashSet<int> { 3 });
        new MembershipFile(_dir).SaveView(NewView, fence, new HashSet<int>(), owed);

        var record = new MembershipFile(_dir).Load();
        Assert.Equal(new HashSet<int> { 3 }, record.Fence.Outstanding("s0"));
        Assert.Equal(new HashSet<int> { 3 }, record.Handoff!.Awaits);
        Assert.Equal(new[] { 3, 1 }, record.Fence.Reports.Single().Awaits);
        // Node 3's report naming its own old shard settles it after the restart, as before it.
        var lifted = record.Fence.Report(5, new HandoffReport("s1", 3, F((71, 2)), "s2")).Lift(F((70, 1), (71, 2)));
        Assert.False(lifted.AnyPending);
    }

    [Fact]
    public void A_node_that_joins_the_cluster_owes_a_report_only_to_its_shard_and_without_a_data_directory_what_is_owed_is_kept_in_memory()
    {
        // Its new peers fence on it: what it holds of their keys (left from an unfinished handoff) it adopts and names.
        Assert.Equal(["s2"], OwedHandoff.For(HandoffPlan.Create(OldView, NewView, nodeId: 4, new HashSet<int>()), new HashSet<int>(), null)!.Owed);
        Assert.Null(OwedHandoff.For(HandoffPlan.Create(null, NewView, nodeId: 4, new HashSet<int>()), new HashSet<int>(), null));

        var file = new MembershipFile(null);
        file.SaveView(NewView, HandoffFenceState.None, new HashSet<int>(),
            OwedHandoff.For(HandoffPlan.Create(OldView, NewView, nodeId: 1, new HashSet<int>()), new HashSet<int>(), null));
        file.SaveReported(NewView.Epoch, "s1");
        Assert.Equal(["s0", "s2"], file.OwedFor(NewView.Epoch)!.Owed.Order(StringComparer.Ordinal));
        Assert.Null(file.Load().View);
    }

    [Fact]
    public void A_view_that_replaces_one_with_reports_still_owed_owes_them_too_and_the_shard_the_node_joins_hears_what_it_adopted()
    {
        // Node 4 was in no shard under epoch 5 and still owed s0 and s1 the report of an earlier change; under
        // epoch 6 it is still in no shard, then (another history) joins s1.
        var later = ShardView.Create(6, new Dictionary<string, IReadOnlyList<ViewNode>>
        {
            ["s0"] = [new("n0:8080", 0), new("n1:8080", 1)],
            ["s1"] = [new("n2:8080", 2), new("n3:8080", 3)],
        });
        var before = ShardView.Create(5, new Dictionary<string, IReadOnlyList<ViewNode>>
        {
            ["s0"] = [new("n0:8080", 0)],
            ["s1"] = [new("n2:8080", 2), new("n3:8080", 3)],
            ["s2"] = [new("n1:8080", 1)],
        });
        var outside = HandoffPlan.Create(before, later, nodeId: 4, new HashSet<int>());
        Assert.Null(OwedHandoff.For(outside, new HashSet<int>(), null));
        var owed = OwedHandoff.For(outside, new HashSet<int>(), null, stillOwed: ["s0", "s1", "s2"]);
        Assert.Equal(["s0", "s1"], owed!.Owed.Order(StringComparer.Ordinal));

        var joins = ShardView.Create(6, new Dictionary<string, IReadOnlyList<ViewNode>>
        {
            ["s0"] = [new("n0:8080", 0), new("n1:8080", 1)],
            ["s1"] = [new("n2:8080", 2), new("n3:8080", 3), new("n4:8080", 4)],
        });
        // The shard it joins hears from it as a node joining it (naming what it adopted), not as one that handed it all.
        var joining = HandoffPlan.Create(before, joins, nodeId: 4, new HashSet<int>());
        Assert.Equal(["s1"], joining.AnnounceTo);
        Assert.Equal(["s0", "s1"], OwedHandoff.For(joining, new HashSet<int>(), null, stillOwed: ["s0", "s1"])!.Owed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_unreadable_file_stops_the_node_with_a_message_that_says_what_to_do()
    {
        File.WriteAllText(Path.Combine(_dir, MembershipFile.FileName), "{\"epoch\": 5, \"view\": ");
        var error = Assert.Throws<InvalidDataException>(() => new MembershipFile(_dir).Load());
        Assert.Contains(MembershipFile.FileName, error.Message, StringComparison.Ordinal);
        Assert.Contains("Remove the file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_view_in_the_file_is_refused()
    {
        File.WriteAllText(Path.Combine(_dir, MembershipFile.FileName),
            "{\"epoch\": 5, \"view\": {\"s0\": [{\"address\": \"n0:8080\", \"id\": 0}, {\"address\": \"n1:8080\", \"id\": 0}]}}");
        var error = Assert.Throws<InvalidDataException>(() => new MembershipFile(_dir).Load());
        Assert.Contains("not valid", error.Message, StringComparison.Ordinal);
    }
}
