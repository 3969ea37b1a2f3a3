using CausalKv.Sharding;
using static CausalKv.Tests.Sharding.ShardingTestViews;

namespace CausalKv.Tests.Sharding;

public sealed class ViewEpochDecisionTests
{
    private static readonly ShardView Installed = View(5, ("s0", [0, 1]), ("s1", [2, 3]));
    private static readonly ShardView SameLayout = View(0, ("s1", [3, 2]), ("s0", [1, 0]));
    private static readonly ShardView Other = View(0, ("s0", [0, 1]), ("s1", [2]), ("s2", [3]));

    [Fact]
    public void Without_an_epoch_a_new_layout_gets_the_epoch_after_the_highest_known()
    {
        var decision = ViewEpochDecision.Decide(Installed, 7, Other, null);
        Assert.Equal(ViewEpochVerdict.Install, decision.Verdict);
        Assert.Equal(8, decision.View.Epoch);
        Assert.True(decision.View.SameLayoutAs(Other));
        Assert.Null(decision.Error);
    }

    [Fact]
    public void Without_an_epoch_the_installed_layout_is_a_retry_at_its_own_epoch()
    {
        var decision = ViewEpochDecision.Decide(Installed, 5, SameLayout, null);
        Assert.Equal(ViewEpochVerdict.Retry, decision.Verdict);
        Assert.Equal(5, decision.View.Epoch);
    }

    [Fact]
    public void Without_an_epoch_the_installed_layout_is_renumbered_when_a_higher_epoch_is_known_elsewhere()
    {
        // Some node reported an epoch above the view the decider has: the installed view is not the newest.
        var decision = ViewEpochDecision.Decide(Installed, 9, SameLayout, null);
        Assert.Equal(ViewEpochVerdict.Install, decision.Verdict);
        Assert.Equal(10, decision.View.Epoch);
    }

    [Fact]
    public void The_first_view_without_an_epoch_is_epoch_one_and_with_one_is_that_epoch()
    {
        Assert.Equal(1, ViewEpochDecision.Decide(null, 0, Other, null).View.Epoch);
        var given = ViewEpochDecision.Decide(null, 0, Other, 4);
        Assert.Equal((ViewEpochVerdict.Install, 4L), (given.Verdict, given.View.Epoch));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(100)]
    public void An_epoch_above_the_current_one_is_used_as_is_for_any_layout(long epoch)
    {
        foreach (var layout in new[] { Other, SameLayout })
        {
            var decision = ViewEpochDecision.Decide(Installed, 5, layout, epoch);
            Assert.Equal(ViewEpochVerdict.Install, decision.Verdict);
            Assert.Equal(epoch, decision.View.Epoch);
        }
    }

    [Fact]
    public void The_installed_epoch_with_the_installed_layout_is_a_retry()
    {
        var decision = ViewEpochDecision.Decide(Installed, 5, SameLayout, 5);
        Assert.Equal(ViewEpochVerdict.Retry, decision.Verdict);
        Assert.Same(Installed, decision.View);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void An_epoch_at_or_below_the_current_one_with_another_layout_is_stale_and_names_the_current_epoch(long epoch)
    {
        var decision = ViewEpochDecision.Decide(Installed, 5, Other, epoch);
        Assert.Equal(ViewEpochVerdict.Stale, decision.Verdict);
        Assert.Contains($"Epoch {epoch} ", decision.Error);
        Assert.Contains("epoch 5", decision.Error);
    }

    [Fact]
    public void An_older_epoch_with_the_installed_layout_is_stale_too_and_says_how_to_resend()
    {
        var decision = ViewEpochDecision.Decide(Installed, 5, SameLayout, 4);
        Assert.Equal(ViewEpochVerdict.Stale, decision.Verdict);
        Assert.Contains("\"epoch\": 5", decision.Error);
    }

    [Fact]
    public void The_installed_epoch_is_stale_when_a_higher_one_is_known_elsewhere()
    {
        var decision = ViewEpochDecision.Decide(Installed, 6, SameLayout, 5);
        Assert.Equal(ViewEpochVerdict.Stale, decision.Verdict);
        Assert.Contains("epoch 6", decision.Error);
    }

    [Fact]
    public void Deciding_again_on_what_was_decided_is_a_retry_so_a_resent_request_converges()
    {
        // Whatever a request installs, the same request again (with the epoch it got, or still without one) is a retry.
        foreach (long? requested in new long?[] { null, 6, 42 })
        {
            var first = ViewEpochDecision.Decide(Installed, 5, Other, requested);
            Assert.Equal(ViewEpochVerdict.Install, first.Verdict);
            var again = ViewEpochDecision.Decide(first.View, first.View.Epoch, Other, requested ?? first.View.Epoch);
            Assert.Equal(ViewEpochVerdict.Retry, again.Verdict);
            Assert.Equal(first.View.Epoch, again.View.Epoch);
            Assert.Equal(ViewEpochVerdict.Retry, ViewEpochDecision.Decide(first.View, first.View.Epoch, Other, null).Verdict);
        }
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(ShardView.MaxEpoch)]
    public void A_current_epoch_with_no_room_above_it_refuses_a_new_layout_without_overflowing(long current)
    {
        var installed = Installed.WithEpoch(current);
        var decision = ViewEpochDecision.Decide(installed, current, Other, null);
        Assert.Equal(ViewEpochVerdict.Stale, decision.Verdict);
        Assert.Contains("highest a view may have", decision.Error);
        // The installed layout again is still a retry, and an older epoch still stale: nothing throws.
        Assert.Equal(ViewEpochVerdict.Retry, ViewEpochDecision.Decide(installed, current, SameLayout, null).Verdict);
        Assert.Equal(ViewEpochVerdict.Stale, ViewEpochDecision.Decide(installed, current, Other, 7).Verdict);
    }

    [Fact]
    public void Below_the_maximum_the_next_epoch_is_given_as_before()
    {
        var installed = Installed.WithEpoch(ShardView.MaxEpoch - 1);
        var decision = ViewEpochDecision.Decide(installed, installed.Epoch, Other, null);
        Assert.Equal(ViewEpochVerdict.Install, decision.Verdict);
        Assert.Equal(ShardView.MaxEpoch, decision.View.Epoch);
    }
}
