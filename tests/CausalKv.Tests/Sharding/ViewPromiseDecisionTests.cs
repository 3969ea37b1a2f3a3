using CausalKv.Sharding;
using static CausalKv.Tests.Sharding.ShardingTestViews;

namespace CausalKv.Tests.Sharding;

public sealed class ViewPromiseDecisionTests
{
    private static readonly ShardView Installed = View(5, ("s0", [0, 1]), ("s1", [2, 3]));
    private static readonly ShardView Layout = View(0, ("s0", [0, 1]), ("s1", [2]), ("s2", [3]));
    private static readonly ShardView Other = View(0, ("s0", [0]), ("s1", [1, 2]), ("s2", [3]));

    [Fact]
    public void An_epoch_above_everything_installed_or_promised_is_promised()
    {
        var decision = ViewPromiseDecision.Decide(Installed, null, Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Promise, decision.Verdict);
        Assert.Equal(6, decision.Holds);
        Assert.Null(decision.Error);
    }

    [Fact]
    public void A_node_without_a_view_promises_its_first()
    {
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(null, null, Layout.WithEpoch(1)).Verdict);
    }

    [Fact]
    public void The_promised_view_again_is_kept_and_another_layout_under_its_epoch_is_refused()
    {
        var promised = Layout.WithEpoch(6);
        Assert.Equal(ViewPromiseVerdict.Kept, ViewPromiseDecision.Decide(Installed, promised, Layout.WithEpoch(6)).Verdict);
        var other = ViewPromiseDecision.Decide(Installed, promised, Other.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Refused, other.Verdict);
        Assert.Equal(6, other.Holds);
        Assert.Contains("promised here to another layout", other.Error);
    }

    [Fact]
    public void An_epoch_below_the_promise_is_refused_whatever_its_layout()
    {
        // The node may have promised epoch 6 to a layout before it promised 7: it no longer knows which.
        var decision = ViewPromiseDecision.Decide(Installed, Layout.WithEpoch(7), Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Refused, decision.Verdict);
        Assert.Equal(7, decision.Holds);
    }

    [Fact]
    public void An_epoch_above_the_promise_replaces_it()
    {
        var decision = ViewPromiseDecision.Decide(Installed, Layout.WithEpoch(7), Other.WithEpoch(8));
        Assert.Equal(ViewPromiseVerdict.Promise, decision.Verdict);
        Assert.Equal(8, decision.Holds);
    }

    [Fact]
    public void The_installed_view_at_its_own_epoch_is_kept_even_under_a_higher_promise()
    {
        // A resend of the view in force (a retry, or a node that lags) settles nothing new at this node.
        var decision = ViewPromiseDecision.Decide(Installed, Layout.WithEpoch(9), Installed.WithEpoch(5));
        Assert.Equal(ViewPromiseVerdict.Kept, decision.Verdict);
        Assert.Equal(9, decision.Holds);
    }

    [Fact]
    public void Another_layout_at_the_installed_epoch_or_below_it_is_refused()
    {
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Installed, null, Layout.WithEpoch(5)).Verdict);
        Assert.Equal(ViewPromiseVerdict.Refused, ViewPromiseDecision.Decide(Installed, null, Installed.WithEpoch(4)).Verdict);
    }

    [Fact]
    public void A_promise_at_or_below_the_installed_epoch_is_spent()
    {
        var decision = ViewPromiseDecision.Decide(Installed, Other.WithEpoch(5), Layout.WithEpoch(6));
        Assert.Equal(ViewPromiseVerdict.Promise, decision.Verdict);
    }

    [Fact]
    public void No_epoch_gathers_two_layouts_at_one_node_whatever_the_order_of_proposals()
    {
        // Every order of prepares and installs at one node, of two layouts at epochs 1-3: once a layout is promised or
        // installed under an epoch, no other layout is ever promised or installed under it.
        var proposals = new List<ShardView>();
        for (var e = 1; e <= 3; e++) { proposals.Add(Layout.WithEpoch(e)); proposals.Add(Other.WithEpoch(e)); }
        var random = new Random(42);
        for (var run = 0; run < 2000; run++)
        {
            ShardView? installed = null, promised = null;
            var settled = new Dictionary<long, ShardView>();
            for (var step = 0; step < 8; step++)
            {
                var proposal = proposals[random.Next(proposals.Count)];
                var install = random.Next(2) == 0;
                var decision = ViewPromiseDecision.Decide(installed, promised, proposal);
                if (decision.Verdict == ViewPromiseVerdict.Refused) continue;
                if (settled.TryGetValue(proposal.Epoch, out var before)) Assert.True(before.SameLayoutAs(proposal), $"epoch {proposal.Epoch}: {before} then {proposal}");
                settled[proposal.Epoch] = proposal;
                if (install) installed = proposal;
                else if (decision.Verdict == ViewPromiseVerdict.Promise) promised = proposal;
            }
        }
    }
}
