using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Node.Telemetry;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Cluster;

/// <summary>
/// Keys can reach a node that no longer owns them: replication from a peer
/// that had not seen the new view yet, or a handoff no replica acknowledged.
/// Every few seconds this hands such keys to their owners, so none is stranded. It scans the
/// store only when one may be there: after the view changed, or a key this node does not own
/// arrived (<see cref="ClusterState.Received"/>), or the last hand-off of strays failed; a full
/// scan of a store of millions of keys every two seconds would keep a core busy.
/// It also finishes a view change's handoff that still owes other shards its "done" (<see cref="ViewChanger.FinishOwedAsync"/>:
/// the node restarted in the middle of it, or a shard's handoff gave up at the deadline), with growing pauses, and
/// lifts handoff fences whose old shard never reported (all its nodes gone), after the fence timeout, so reads do not wait forever.
/// </summary>
public sealed class StrayKeySweeper(
    ClusterState cluster, ReplicaStore store, Handoff handoff, ViewChanger viewChanger, HandoffFence fence,
    IOptions<NodeOptions> options, TimeProvider time, ILogger<StrayKeySweeper> log) : IHostedService
{
    private static readonly TimeSpan OwedPauseLimit = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan OwedFirstPause = TimeSpan.FromSeconds(4);

    private readonly TimeSpan _fenceTimeout = options.Value.CausalWaitDeadline * 2;
    private long _owedEpoch = -1;
    private long _owedSince;
    private TimeSpan _owedPause;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Fences this node lifted at the timeout, their old shard's reports never heard.</summary>
    public int FencesLiftedByTimeout { get; private set; }

    /// <summary>Runs the owed handoff when its pause is over: the first a few seconds after it was noticed (a view change runs its own handoff first), then doubling.</summary>
    private async Task FinishOwedAsync(long epoch, CancellationToken ct)
    {
        if (!viewChanger.OwesHandoff) return;
        if (epoch != _owedEpoch)
        {
            (_owedEpoch, _owedSince, _owedPause) = (epoch, time.GetTimestamp(), OwedFirstPause);
            return;
        }
        if (time.GetElapsedTime(_owedSince) < _owedPause) return;
        _owedSince = time.GetTimestamp();
        _owedPause = _owedPause * 2 < OwedPauseLimit ? _owedPause * 2 : OwedPauseLimit;
        try
        {
            if (await viewChanger.FinishOwedAsync(ct) is { } outcome) NodeLog.OwedHandoffRun(log, epoch, outcome.Keys, outcome.Errors.Count);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            NodeLog.StrayKeyHandoffFailed(log, e);
        }
    }

    /// <summary>Each old shard still awaited, with its layer's epoch and the nodes that never reported: what the log names on a lift.</summary>
    private static string DescribePending(CausalKv.Sharding.HandoffFenceState state) =>
        string.Join("; ", state.Layers.SelectMany(l => l.Pending.Select(p =>
            $"{p.Shard} (epoch {l.Epoch}: " + (p.Outstanding.Count > 0
                ? $"nodes [{string.Join(",", p.Outstanding.Order())}] did not report)"
                : $"the writes {p.Requires} reported are not all here)"))));

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = RunAsync();
        return Task.CompletedTask;

        async Task RunAsync()
        {
            try { await SweepAsync(_stop.Token); }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_loop is not null) await _loop.WaitAsync(cancellationToken);
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        // Runs where the host's scheduler puts it, not inside the host's start.
        await Task.Yield();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2), time);
        long cleanAt = -1;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var m = cluster.Current;
            // A node whose view is behind must not hand keys "back": they may be ours under the newer view.
            if (m.View is null || cluster.HighestEpochSeen > m.Epoch) continue;
            await FinishOwedAsync(m.Epoch, stoppingToken);
            if (fence.AnyPending && fence.Age > _fenceTimeout)
            {
                NodeLog.FenceLifted(log, DescribePending(fence.State), _fenceTimeout, fence.Epoch);
                fence.Clear();
                FencesLiftedByTimeout++;
                store.Changed.Signal();
            }
            if (!cluster.TakeStrayArrival() && cleanAt == m.Epoch) continue;
            cleanAt = -1;
            if (!store.All.Any(kv => !m.Owns(kv.Key)))
            {
                cleanAt = m.Epoch;
                continue;
            }
            try
            {
                var outcome = await handoff.HandOffStrayKeysAsync(CausalKv.Sharding.HandoffPlan.Unchanged(m.View, m.NodeId), sourceStable: null, stoppingToken, announce: false);
                if (outcome.Keys > 0) NodeLog.StrayKeysHandedOff(log, outcome.Keys);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                NodeLog.StrayKeyHandoffFailed(log, e);
            }
        }
    }
}
