using Xunit.Abstractions;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// Deterministic simulation of the cluster (see <see cref="Simulation"/>): a fixed set of seeds on every run.
/// Thousands of random seeds run with <c>bench/run.sh simulation</c>; a failure names its seed, and
/// <c>SIM_SEED=seed bench/run.sh simulation</c> replays it exactly.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    private const int Operations = 300;

    public static TheoryData<int> FixedSeeds => new(Enumerable.Range(1, 40));

    /// <summary>Every guarantee, and liveness: healed and quiet, no replica still waits for a catch-up or a handoff.</summary>
    [Theory]
    [MemberData(nameof(FixedSeeds))]
    public void A_seeded_run_keeps_every_guarantee(int seed)
    {
        var result = Simulation.Run(seed, Operations, checkLiveness: true);
        output.WriteLine($"seed {seed}: {result.Operations} operations, {result.Waits} waits, {result.Crashes} crashes, " +
            $"{result.ViewChanges} view changes, {result.SimulatedMilliseconds} simulated ms");
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// The same seeds with sessions' metadata pruned as the node prunes it (dependencies every replica of the key's
    /// shard holds are dropped), so that only the fence, the catch-up and what is stable keep reads causal across
    /// view changes and restarts.
    /// </summary>
    [Theory]
    [MemberData(nameof(FixedSeeds))]
    public void A_seeded_run_with_pruned_metadata_keeps_every_guarantee(int seed)
    {
        var result = Simulation.Run(seed, Operations, pruneMetadata: true, checkLiveness: true);
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// Seeds that failed with pruned metadata before the bugs they found were fixed (a change to the simulation can
    /// send them down other paths since): a fence lost in a restart (5), a handoff that promised its receivers more
    /// than they held (1737196316), a stale copy of a key answered while its newer version was still on its way from
    /// the shard it left (11599099), a node that missed views planning from a stale one (42457150), a later view
    /// lifting the fence of an earlier one (224334939), a replica new to its shard counted as caught up on a
    /// digest its peer sent before it joined (789811624), a handoff of an earlier view removing a key a later view
    /// gave back (135236447), a report of a handoff to another shard lifting this one's fence (1333718786), and a
    /// replica new to its shard catching up from a peer that was still catching up (1092401165) or still waiting
    /// for keys on their way to it (1363292680), and a replica that stayed in its shard reporting its handoff done
    /// before the keys on their way to it under an earlier view had arrived, so that the receivers lifted their fence
    /// on a key that came only later, as a stray (243211374), and a replica that missed a view change taking a peer's
    /// batch made under the newer view, which named a delete of a key the view moved away without its version: the
    /// replica, still answering for the key, counted the delete as held by every replica and answered the older value
    /// (1215887914), and a node that changed shards reporting its old shard's handoff done while a key was still on
    /// its way to it from a handoff that had failed, so that the key's next owner lifted its fence and answered an
    /// older copy before the key arrived from its first sender (1689317039), and a node whose handoff of the view that
    /// left it in no shard was stopped by a newer view before a key was acknowledged, which joined under that view the
    /// shard now owning the key and kept it: its new peers fenced the key only on its old owner, whose "done" had
    /// stopped waiting for the node on the node's own later report, and answered 404 (2075124318).
    /// </summary>
    [Theory]
    [InlineData(5)]
    [InlineData(1737196316)]
    [InlineData(11599099)]
    [InlineData(42457150)]
    [InlineData(224334939)]
    [InlineData(789811624)]
    [InlineData(135236447)]
    [InlineData(1333718786)]
    [InlineData(1092401165)]
    [InlineData(1363292680)]
    [InlineData(243211374)]
    [InlineData(1215887914)]
    [InlineData(1689317039)]
    [InlineData(2075124318)]
    public void A_run_with_pruned_metadata_keeps_every_guarantee_where_one_was_broken(int seed)
    {
        var result = Simulation.Run(seed, Operations, pruneMetadata: true);
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// Seeds whose runs, checked for liveness too, ended with a replica's fence up for good, waiting for a "done" that
    /// would never come or for writes that would never arrive:
    /// <list type="bullet">
    /// <item>2075963865, 1357304757, 1754830783, 1245098929: a report with nothing in it was lost to a cut link and
    /// never sent again (it is now retried until a replica takes it);</item>
    /// <item>1502839259: its sender crashed in the middle of its handoff (it now plans the handoff again from its
    /// membership file and tells the shards still owed);</item>
    /// <item>1981561582: a newer view replaced the sender's handoff before its report went out (the report of its later
    /// handoff now counts, whichever shard it was in);</item>
    /// <item>850618408: the sender adopted keys as its own writes and left the shard before they replicated (its later
    /// report names what they became, and replaces them);</item>
    /// <item>1908320627, 238349668: the replica moved to another shard (into the one it waited for, and into the one of
    /// the node it waited for): what was on its way to its old shard is not its to wait for.</item>
    /// <item>646944129: the sender crashed before its report reached one shard, resumed, and at once installed a newer
    /// view under which it was in no shard: that view's handoff told nobody, and the owed report was dropped with the
    /// view it belonged to (a view now carries the reports the one it replaces still owed).</item>
    /// <item>2112014816: the only replica of the shard that took the sender's report had already moved to another
    /// shard, so the report reached nobody who waited for it (a report now counts only where a replica still in its
    /// shard took it).</item>
    /// </list>
    /// </summary>
    [Theory]
    [InlineData(2075963865)]
    [InlineData(1357304757)]
    [InlineData(1754830783)]
    [InlineData(1245098929)]
    [InlineData(1502839259)]
    [InlineData(1981561582)]
    [InlineData(850618408)]
    [InlineData(1908320627)]
    [InlineData(238349668)]
    [InlineData(646944129)]
    [InlineData(2112014816)]
    public void A_run_that_once_left_a_fence_up_for_good_ends_with_every_fence_lifted(int seed)
    {
        var result = Simulation.Run(seed, Operations, checkLiveness: true);
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// The first router restarts a while after each declaration, forgetting the views it followed and the nodes it saw
    /// leave, as a router started again does. In these seeds a view that left a node out was lost on its way to that
    /// node before the router restarted: the node kept serving its old shard's keys under the old view (a violation:
    /// a node in no shard still follows an older view), and the shards waiting for its handoff lifted their fences at
    /// the timeout. They pass now that <c>GET /view</c> names the departed nodes a node's fence waits for, and the
    /// restarted router sends them the view in force (with that list ignored, all four fail).
    /// </summary>
    [Theory]
    [InlineData(1725822762)]
    [InlineData(2014843459)]
    [InlineData(1931338784)]
    [InlineData(1719882922)]
    public void A_router_started_again_still_sends_the_view_to_the_nodes_that_left(int seed)
    {
        var result = Simulation.Run(seed, Operations, checkLiveness: true, restartReconciler: true);
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// Two reconcilers that see node 0 at different addresses for the first 5 s (a replica just replaced, resolved by one
    /// router and not yet by the other) decide the same epochs with two layouts and race to install them: the nodes'
    /// promises let at most one layout through per epoch (the run checks every install), the other reconciler is refused
    /// before any node got its view, and once both see one address the cluster settles.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Two_reconcilers_that_see_different_addresses_never_install_two_layouts_under_one_epoch(int seed)
    {
        var result = Simulation.Run(seed, Operations, checkLiveness: true, addressSplit: 5_000);
        output.WriteLine($"seed {seed}: {result.ViewChanges} view changes, {result.PromisesRefused} installs refused for another promise");
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// Seeds whose runs, when a node kept only its highest promise, ended with both reconcilers resending the view in
    /// force for good: nodes behind it had promised a newer install that was never carried out and refused every
    /// lower epoch. A promise now holds back only its own epoch, and the resend reaches them.
    /// </summary>
    [Theory]
    [InlineData(39676659)]
    [InlineData(1660423346)]
    public void A_node_that_promised_a_newer_install_still_takes_the_resend_of_the_view_in_force(int seed)
    {
        var result = Simulation.Run(seed, Operations, checkLiveness: true);
        output.WriteLine($"seed {seed}: {result.ViewChanges} view changes, {result.Resends} resends, {result.PromisesRefused} installs refused for another promise");
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// Seeds that, with sessions' metadata pruned, lifted a fence at its timeout because
    /// <list type="bullet">
    /// <item>200426050: the replica left the cluster and went on waiting for the reports of an earlier view, which went
    /// to its old shard's other replicas or to nobody (a replica in no shard now waits for nothing);</item>
    /// <item>1977912163: a bare report was relayed over a link that lost a quarter of its packets, with pauses growing
    /// to 10 s: its four attempts within the fence timeout were all lost (the pauses now stop at a tenth of it);</item>
    /// <item>1412260953 and 172253934: a newer view waited for its turn behind the retries of an older view's handoff to
    /// a peer cut off from the node (up to the causal-wait deadline per run, and the sweeper ran it again), and the fence
    /// the newer view would have replaced timed out meanwhile (a newer view now stops that handoff).</item>
    /// </list>
    /// </summary>
    [Theory]
    [InlineData(200426050)]
    [InlineData(1977912163)]
    [InlineData(1412260953)]
    [InlineData(172253934)]
    public void A_run_with_pruned_metadata_that_once_left_a_fence_up_for_good_ends_with_every_fence_lifted(int seed)
    {
        var result = Simulation.Run(seed, Operations, pruneMetadata: true, checkLiveness: true);
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// Seeds whose runs end with a replica still far behind its peer (packets slower than the request timeout): the
    /// run must wait for it to catch up before it judges convergence, not stop at the first quiet round.
    /// </summary>
    [Theory]
    [InlineData(174000120)]
    [InlineData(1268455802)]
    public void A_run_judges_convergence_only_once_replication_finished(int seed)
    {
        var result = Simulation.Run(seed, Operations);
        Assert.True(result.Passed, result.Report());
    }

    /// <summary>
    /// The simulated replicas keep their logs within a small bound (<see cref="SimulatedNode.LogBytesLimit"/>), so the
    /// fixed seeds run both ways of catching a peer up: from the log, and past it by a scan of the store.
    /// </summary>
    [Fact]
    public void The_fixed_seeds_shed_log_entries_and_catch_peers_up_by_scans()
    {
        var results = Enumerable.Range(1, 10).Select(seed => Simulation.Run(seed, Operations)).ToList();
        Assert.All(results, r => Assert.True(r.Passed, r.Report()));
        Assert.True(results.Count(r => r.LogEntriesShed > 0) >= 3, $"log entries shed per seed: {string.Join(", ", results.Select(r => r.LogEntriesShed))}");
        Assert.True(results.Count(r => r.Scans > 0) >= 3, $"scans per seed: {string.Join(", ", results.Select(r => r.Scans))}");
    }

    /// <summary>
    /// A seed replays event for event: the node's own code runs on the simulation's one thread and clock, so nothing
    /// in a run depends on real time or on threads (work that escapes to either fails the run).
    /// </summary>
    [Theory]
    [InlineData(7, false)]
    [InlineData(7, true)]
    [InlineData(29, true)]
    public void A_seed_replays_exactly(int seed, bool pruneMetadata)
    {
        var first = Simulation.Run(seed, 200, pruneMetadata);
        var again = Simulation.Run(seed, 200, pruneMetadata);
        Assert.True(first.Passed, first.Report());
        Assert.True(first.TraceEvents > 200, $"{first.TraceEvents} events");
        Assert.Equal(first.TraceEvents, again.TraceEvents);
        Assert.Equal(first.TraceDigest, again.TraceDigest);
        Assert.Equal(first.TraceTail, again.TraceTail);
        Assert.Equal(first.SimulatedMilliseconds, again.SimulatedMilliseconds);
    }

    /// <summary>
    /// Views come only from the router's decision (<see cref="SimulatedReconciler"/> over
    /// <see cref="CausalKv.Sharding.ReconcileDecision"/>): over the fixed seeds it carries declared changes out, resends
    /// views that were lost or missed, and where a second reconciler is behind on its declarations, that one stands
    /// down rather than undo the newer generation.
    /// </summary>
    [Fact]
    public void The_fixed_seeds_change_views_through_the_reconciler_and_exercise_each_of_its_decisions()
    {
        var results = Enumerable.Range(1, 12).Select(seed => Simulation.Run(seed, Operations)).ToList();
        foreach (var r in results)
            output.WriteLine($"seed {r.Seed}: {r.ViewChanges} view changes, {r.Resends} resends, {r.StandDowns} rounds standing down");
        Assert.All(results, r => Assert.True(r.Passed, r.Report()));
        Assert.True(results.Sum(r => r.ViewChanges) >= results.Count, $"view changes per seed: {string.Join(", ", results.Select(r => r.ViewChanges))}");
        Assert.True(results.Count(r => r.Resends > 0) >= 3, $"resends per seed: {string.Join(", ", results.Select(r => r.Resends))}");
        Assert.True(results.Count(r => r.StandDowns > 0) >= 1, $"rounds standing down per seed: {string.Join(", ", results.Select(r => r.StandDowns))}");
    }
}
