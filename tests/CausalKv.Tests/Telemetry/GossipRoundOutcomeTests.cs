using CausalKv.Node.Telemetry;


namespace CausalKv.Tests.Telemetry;

public sealed class GossipRoundOutcomeTests
{
    private static CausalKv.Causality.Frontier Frontier(params (long Origin, long Seq)[] entries) =>
        CausalKv.Causality.Frontier.Of(entries.Select(e => KeyValuePair.Create(e.Origin, e.Seq)));

    [Fact]
    public void Equal_frontiers_moved_nothing()
    {
        var outcome = GossipRoundOutcome.Compare(Frontier((1, 5), (2, 3)), Frontier((2, 3), (1, 5)));

        Assert.False(outcome.MovedData);
        Assert.Equal("in-sync", outcome.Name);
    }

    [Fact]
    public void A_peer_that_lacks_writes_is_sent_them()
    {
        var outcome = GossipRoundOutcome.Compare(ours: Frontier((1, 5), (2, 3)), theirs: Frontier((1, 2)));

        Assert.True(outcome.MovedData);
        Assert.Equal(3 + 3, outcome.EntriesToSend);
        Assert.Equal(0, outcome.EntriesToReceive);
        Assert.Equal("peer-behind", outcome.Name);
    }

    [Fact]
    public void Writes_this_node_lacks_are_received()
    {
        var outcome = GossipRoundOutcome.Compare(ours: Frontier((1, 5)), theirs: Frontier((1, 5), (3, 4)));

        Assert.True(outcome.MovedData);
        Assert.Equal(0, outcome.EntriesToSend);
        Assert.Equal(4, outcome.EntriesToReceive);
        Assert.Equal("we-are-behind", outcome.Name);
    }

    [Fact]
    public void Diverged_replicas_move_writes_both_ways()
    {
        var outcome = GossipRoundOutcome.Compare(ours: Frontier((1, 7), (2, 1)), theirs: Frontier((1, 5), (2, 4)));

        Assert.Equal(2, outcome.EntriesToSend);
        Assert.Equal(3, outcome.EntriesToReceive);
        Assert.True(outcome.MovedData);
    }

    [Fact]
    public void A_round_whose_peer_did_not_answer_moved_nothing()
    {
        Assert.False(GossipRoundOutcome.Failed.MovedData);
        Assert.Equal("unreachable", GossipRoundOutcome.Failed.Name);
    }
}
