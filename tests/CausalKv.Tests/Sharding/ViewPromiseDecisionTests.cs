using CausalKv.Sharding;
using static CausalKv.Tests.Sharding.ShardingTestViews;

namespace CausalKv.Tests.Sharding;

public sealed class ViewPromiseDecisionTests
{
    private static readonly ShardView Installed = View(5, ("s0", [0, 1]), ("s1", [2, 3]));
    private static readonly ShardView Layout = View(0, ("s0", [0, 1]), ("s1", [2]), ("s2", [3]));
    private static readonly ShardView Other = View(0, ("s0", [0]), ("s1", [1, 2]), ("s2", [3]));

    private static ViewPromises Promised(params ShardView[] views) => ViewPromises.From(views, 0);

    [Fact]
    public void An_epoch_above_everything_installed_or_promised_is_promised()
    {
        var decision = ViewPromiseDecision.Decide(Installed, ViewPromises.None, Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Promise, decision.Verdict);
        Assert.Equal(6, decision.Holds);
        Assert.Null(decision.Error);
    }

    [Fact]
    public void A_node_without_a_view_promises_its_first()
    {
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(null, ViewPromises.None, Layout.WithEpoch(1)).Verdict);
    }

    [Fact]
    public void The_promised_view_again_is_kept_and_another_layout_under_its_epoch_is_refused()
    {
        var promises = Promised(Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Kept, ViewPromiseDecision.Decide(Installed, promises, Layout.WithEpoch(6)).Verdict);
        var other = ViewPromiseDecision.Decide(Installed, promises, Other.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Refused, other.Verdict);
        Assert.Equal(6, other.Holds);
        Assert.Contains("promised here to another layout", other.Error);
    }

    [Fact]
    public void The_resend_of_the_view_in_force_reaches_a_node_behind_it_that_promised_a_newer_install()
    {
        // The node holds epoch 5; epoch 6 is in force elsewhere, and the node promised epoch 7, whose install never came.
        var promises = Promised(Other.WithEpoch(7));
        var resend = ViewPromiseDecision.Decide(Installed, promises, Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Promise, resend.Verdict);
        Assert.Equal(7, resend.Holds);
        // Promised under epoch 6 as well, it is kept; installed, epoch 7's promise outlives it.
        var both = promises.With(Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Kept, ViewPromiseDecision.Decide(Installed, both, Layout.WithEpoch(6)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Kept, ViewPromiseDecision.Decide(Layout.WithEpoch(6), both, Other.WithEpoch(7)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Layout.WithEpoch(6), both, Layout.WithEpoch(7)).Verdict);
    }

    [Fact]
    public void Another_layout_under_an_epoch_promised_below_a_higher_promise_is_refused()
    {
        var promises = Promised(Layout.WithEpoch(6), Layout.WithEpoch(8));
        var decision = ViewPromiseDecision.Decide(Installed, promises, Other.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Refused, decision.Verdict);
        Assert.Equal(8, decision.Holds);
        Assert.Contains("send an epoch above 8", decision.Error);
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(Installed, promises, Other.WithEpoch(7)).Verdict);
    }

    [Fact]
    public void An_epoch_above_the_promises_is_promised_beside_them()
    {
        var decision = ViewPromiseDecision.Decide(Installed, Promised(Layout.WithEpoch(7)), Other.WithEpoch(8));
        Assert.Equal(ViewPromiseVerdict.Promise, decision.Verdict);
        Assert.Equal(8, decision.Holds);
    }

    [Fact]
    public void The_installed_view_at_its_own_epoch_is_kept_even_under_a_higher_promise()
    {
        // A resend of the view in force (a retry, or a node that lags) settles nothing new at this node.
        var decision = ViewPromiseDecision.Decide(Installed, Promised(Layout.WithEpoch(9)), Installed.WithEpoch(5));
        Assert.Equal(ViewPromiseVerdict.Kept, decision.Verdict);
        Assert.Equal(9, decision.Holds);
    }

    [Fact]
    public void Another_layout_at_the_installed_epoch_or_below_it_is_refused()
    {
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Installed, ViewPromises.None, Layout.WithEpoch(5)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Installed, ViewPromises.None, Installed.WithEpoch(4)).Verdict);
    }

    [Fact]
    public void A_promise_at_or_below_the_installed_epoch_is_spent()
    {
        var decision = ViewPromiseDecision.Decide(Installed, Promised(Other.WithEpoch(5), Other.WithEpoch(6)), Layout.WithEpoch(7));
        Assert.Equal(ViewPromiseVerdict.Promise, decision.Verdict);
        Assert.Equal(7, decision.Holds);
        Assert.Equal([6L], Promised(Other.WithEpoch(5), Other.WithEpoch(6)).Above(5).Views.Select(v => v.Epoch));
    }

    [Fact]
    public void Past_the_bound_the_lowest_promise_is_dropped_and_every_epoch_up_to_it_is_held_back()
    {
        var promises = ViewPromises.None;
        for (var e = 6; e < 6 + ViewPromises.MaxCount; e++) promises = promises.With(Layout.WithEpoch(e));
        Assert.Equal(ViewPromises.MaxCount, promises.Views.Count);
        Assert.Equal(0, promises.Floor);

        promises = promises.With(Other.WithEpoch(6 + ViewPromises.MaxCount));
        Assert.Equal(ViewPromises.MaxCount, promises.Views.Count);
        Assert.Equal(6, promises.Floor);
        Assert.Null(promises.At(6));
        Assert.Equal(7, promises.Views[0].Epoch);

        // Epoch 6's layout is no longer known here: neither it nor another is taken, nor a lower epoch without a promise.
        var dropped = ViewPromiseDecision.Decide(Installed, promises, Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Refused, dropped.Verdict);
        Assert.Equal(6 + ViewPromises.MaxCount, dropped.Holds);
        Assert.Contains("no longer knows", dropped.Error);
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Installed, promises, Other.WithEpoch(6)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Layout.WithEpoch(4), promises, Other.WithEpoch(5)).Verdict);
        // The kept ones answer as before, and an epoch above them all is promised.
        Assert.Equal(ViewPromiseVerdict.Kept, ViewPromiseDecision.Decide(Installed, promises, Layout.WithEpoch(7)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(Installed, promises, Layout.WithEpoch(30)).Verdict);
        Assert.Throws<ArgumentException>(() => promises.With(Layout.WithEpoch(6)));

        // An install at or above the floor spends it.
        var spent = promises.Above(6);
        Assert.Equal(0, spent.Floor);
        Assert.Equal(ViewPromises.MaxCount, spent.Views.Count);
        Assert.Equal(6, promises.Above(5).Floor);
    }

    [Fact]
    public void Promises_read_back_keep_their_floor_and_refuse_two_layouts_under_one_epoch()
    {
        var read = ViewPromises.From([Layout.WithEpoch(9), Other.WithEpoch(8)], 7);
        Assert.Equal([8L, 9L], read.Views.Select(v => v.Epoch));
        Assert.Equal(7, read.Floor);
        Assert.Equal(9, read.HighestEpoch);
        Assert.Throws<ArgumentException>(() => ViewPromises.From([Layout.WithEpoch(8), Other.WithEpoch(8)], 0));
        Assert.Throws<ArgumentException>(() => ViewPromises.From([Layout.WithEpoch(7)], 7));
        Assert.Throws<ArgumentException>(() => read.With(Layout.WithEpoch(8)));
        Assert.Same(read, read.With(Other.WithEpoch(8)));
    }

    [Fact]
    public void No_epoch_gathers_two_layouts_at_one_node_whatever_the_order_of_proposals()
    {
        // Every order of prepares and installs at one node, of two layouts at epochs 1-24 (past the bound): once a
        // layout is promised or installed under an epoch, no other layout is ever promised or installed under it.
        var proposals = new List<ShardView>();
        for (var e = 1; e <= 24; e++) { proposals.Add(Layout.WithEpoch(e)); proposals.Add(Other.WithEpoch(e)); }
        var random = new Random(42);
        var refusedAtTheFloor = 0;
        for (var run = 0; run < 2000; run++)
        {
            ShardView? installed = null;
            var promises = ViewPromises.None;
            var settled = new Dictionary<long, ShardView>();
            for (var step = 0; step < 40; step++)
            {
                var proposal = proposals[random.Next(proposals.Count)];
                var install = random.Next(8) == 0;
                var decision = ViewPromiseDecision.Decide(installed, promises, proposal);
                if (decision.Verdict == ViewPromiseVerdict.Refused)
                {
                    // Refused only for the epoch's own reasons, never for a higher promise.
                    var held = promises.Above(installed?.Epoch ?? 0);
                    var conflict = proposal.Epoch <= (installed?.Epoch ?? 0) || held.At(proposal.Epoch)?.SameLayoutAs(proposal) == false;
                    if (!conflict)
                    {
                        Assert.True(proposal.Epoch <= held.Floor, $"epoch {proposal.Epoch} refused under {held}: {decision.Error}");
                        refusedAtTheFloor++;
                    }
                    continue;
                }
                if (settled.TryGetValue(proposal.Epoch, out var before)) Assert.True(before.SameLayoutAs(proposal), $"epoch {proposal.Epoch}: {before} then {proposal}");
                settled[proposal.Epoch] = proposal;
                if (install)
                {
                    installed = proposal;
                    promises = promises.Above(proposal.Epoch);
                }
                else if (decision.Verdict == ViewPromiseVerdict.Promise) promises = promises.Above(installed?.Epoch ?? 0).With(proposal);
                Assert.True(promises.Views.Count <= ViewPromises.MaxCount);
            }
        }
        // The bound was reached, and its floor held back epochs whose promise was dropped.
        Assert.True(refusedAtTheFloor > 0);
    }
}
