using CausalKv.Causality;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Sharding;

namespace CausalKv.Tests.Replication;

/// <summary>
/// A replica that stays in its shard hands off a new view's keys only once the keys on their way to it under an earlier
/// view arrived (<see cref="HandoffFence.EarlierArrivedAsync"/>): its report says its whole store went over. These
/// tests drive the wait on a clock that moves only when told to.
/// </summary>
public sealed class HandoffFenceWaitTests
{
    private static readonly HashRing OldRing = new(["s1", "s2"]);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(1);

    private readonly ManualTimeProvider _time = new();
    private readonly ReplicaStore _store;
    private readonly HandoffFence _fence;

    public HandoffFenceWaitTests()
    {
        _store = new ReplicaStore(_time);
        _fence = new HandoffFence(_store, new MembershipFile(null), _time);
        // Epoch 5 moved keys of s2 (nodes 3 and 4) to this replica's shard s1; epoch 6 is the view being installed.
        _fence.Begin(5, OldRing, new Dictionary<string, IReadOnlySet<int>> { ["s2"] = new HashSet<int> { 3, 4 } }, "s1");
    }

    [Fact]
    public async Task The_wait_ends_when_the_last_sender_of_the_earlier_view_reported()
    {
        Assert.True(_fence.AwaitsEarlierThan(6));
        var wait = _fence.EarlierArrivedAsync(6, Limit, CancellationToken.None);
        Assert.False(wait.IsCompleted);

        _fence.Complete(5, new HandoffReport("s2", 3, Frontier.Empty));
        Assert.False(wait.IsCompleted, "node 4 of s2 has not reported");

        _fence.Complete(5, new HandoffReport("s2", 4, Frontier.Empty));
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(_fence.AwaitsEarlierThan(6));
    }

    [Fact]
    public async Task The_wait_ends_only_once_the_writes_a_report_names_are_here()
    {
        // Node 4's keys became another replica's writes there; this replica has none of them yet.
        var other = new ReplicaStore(_time);
        other.StartIncarnation(2);
        other.Write("k1", "a", DependencySet.Empty, 2);
        other.Write("k2", "b", DependencySet.Empty, 2);
        var wait = _fence.EarlierArrivedAsync(6, Limit, CancellationToken.None);
        _fence.Complete(5, new HandoffReport("s2", 3, Frontier.Empty));
        _fence.Complete(5, new HandoffReport("s2", 4, other.AppliedSnapshot()));
        Assert.False(wait.IsCompleted);

        Push(other, budget: 1);
        Assert.False(wait.IsCompleted, "the second write is still on its way");
        Push(other, budget: 10);
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_sender_that_never_reports_holds_the_handoff_no_longer_than_the_limit()
    {
        var wait = _fence.EarlierArrivedAsync(6, Limit, CancellationToken.None);
        _time.Advance(Limit - TimeSpan.FromMilliseconds(1));
        Assert.False(wait.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(_fence.AwaitsEarlierThan(6), "the layer still waits; only the handoff stopped waiting for it");
    }

    [Fact]
    public async Task Only_layers_of_earlier_views_are_waited_for()
    {
        Assert.False(_fence.AwaitsEarlierThan(5), "the layer of epoch 5 is not earlier than epoch 5");
        Assert.True(await _fence.EarlierArrivedAsync(5, Limit, CancellationToken.None));
    }

    private void Push(ReplicaStore from, int budget)
    {
        var batch = from.Diff(_store.AppliedSnapshot(), budget);
        Assert.NotNull(batch);
        _store.Apply(batch.Ranges, batch.Versions, batch.SnapshotApplied);
    }
}
