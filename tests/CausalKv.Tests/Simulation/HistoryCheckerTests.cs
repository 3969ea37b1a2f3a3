using CausalKv.Causality;

namespace CausalKv.Tests.Simulation;

/// <summary>The checker of simulated histories finds each bad pattern, and accepts what causal+ consistency allows.</summary>
public sealed class HistoryCheckerTests
{
    private readonly List<HistoryOperation> _history = [];

    private void Put(int session, string key, string? value, long tag, bool acknowledged = true) =>
        _history.Add(new HistoryOperation(_history.Count, session, true, key, value, true, acknowledged, new WriteTag(tag, session), 1, _history.Count + 1, 0, 0));

    private void Get(int session, string key, string? value) =>
        _history.Add(new HistoryOperation(_history.Count, session, false, key, value, false, true, default, 0, 0, 0, 0));

    private IReadOnlyList<string> Check() => HistoryChecker.Check(_history);

    [Fact]
    public void A_causally_consistent_history_passes()
    {
        Put(0, "x", "a", 10);
        Get(1, "x", "a");
        Put(1, "x", "b", 20);
        Get(0, "x", "b");
        Get(2, "x", "a"); // a session that observed nothing may read an older write
        Assert.Empty(Check());
    }

    [Fact]
    public void A_value_never_written_is_a_thin_air_read()
    {
        Put(0, "x", "a", 10);
        Get(1, "x", "zzz");
        Assert.Contains(Check(), v => v.StartsWith("thin-air read", StringComparison.Ordinal));
    }

    [Fact]
    public void Reading_a_write_the_session_saw_overwritten_is_a_violation()
    {
        Put(0, "x", "a", 10);
        Put(0, "x", "b", 20);
        Get(0, "x", "a");
        Assert.Contains(Check(), v => v.StartsWith("causally overwritten read", StringComparison.Ordinal));
    }

    [Fact]
    public void Transitive_observation_counts()
    {
        Put(0, "x", "a", 10);
        Put(0, "x", "b", 20);
        Put(0, "y", "c", 30);
        Get(1, "y", "c");
        Get(1, "x", "a");
        Assert.Contains(Check(), v => v.StartsWith("causally overwritten read", StringComparison.Ordinal));
    }

    [Fact]
    public void Absent_after_a_causally_earlier_write_is_a_violation_unless_a_delete_explains_it()
    {
        Put(0, "x", "a", 10);
        Get(0, "x", null);
        Assert.Contains(Check(), v => v.StartsWith("absent after a write", StringComparison.Ordinal));

        Put(1, "x", null, 50); // a concurrent delete that wins the tie-break may be what the replica holds
        Assert.DoesNotContain(Check(), v => v.StartsWith("absent after a write", StringComparison.Ordinal));
    }

    [Fact]
    public void A_concurrent_write_may_be_read_only_when_it_wins_the_tie_break()
    {
        Put(0, "x", "a", 10);
        Put(1, "x", "b", 20);
        Get(0, "x", "b");
        Get(1, "x", "a");
        var violations = Check();
        Assert.Single(violations);
        Assert.StartsWith("concurrent write that loses the tie-break", violations[0], StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_of_session_order_and_reads_from_is_found()
    {
        Get(0, "x", "b");
        Put(0, "y", "a", 10);
        Get(1, "y", "a");
        Put(1, "x", "b", 20);
        Assert.Contains(Check(), v => v.StartsWith("causal cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unacknowledged_write_is_not_observed_by_its_session()
    {
        Put(0, "x", "a", 10);
        Put(0, "x", "b", 20, acknowledged: false);
        Get(0, "x", "a"); // the client never learned of b: reading a is allowed
        Assert.Empty(Check());
    }
}
