using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;

namespace CausalKv.Node.Cluster;

/// <param name="Stale">True when the view was refused for its epoch (<see cref="ViewEpochVerdict.Stale"/>): nothing changed.</param>
public sealed record ViewChangeResult(long Epoch, string? Shard, bool Changed, int KeysHandedOff, IReadOnlyList<string> Errors, bool Stale = false);

/// <summary>
/// Installs views one at a time: a new incarnation when this node's shard
/// changes, the new peers, and the handoff of every key that now belongs to
/// another shard (answered only once that shard acknowledged it).
/// </summary>
public sealed class ViewChanger(
    ClusterState cluster,
    ReplicaStore store,
    ReplicationCoordinator replication,
    HandoffFence fence,
    Handoff handoff,
    ILogger<ViewChanger> log)
{
    private readonly SemaphoreSlim _serial = new(1, 1);
    private HandoffPlan? _installed;

    public async Task<ViewChangeResult> ApplyAsync(ShardView proposed, bool epochGiven, CancellationToken ct)
    {
        await _serial.WaitAsync(ct);
        try
        {
            var old = cluster.Current;
            var decision = ViewEpochDecision.Decide(old.View, old.Epoch, proposed, epochGiven ? proposed.Epoch : null);
            if (decision.Verdict == ViewEpochVerdict.Stale)
                return new ViewChangeResult(old.Epoch, old.MyShard, false, 0, [decision.Error!], Stale: true);
            if (decision.Verdict == ViewEpochVerdict.Retry)
            {
                // The same view again (a retry needs an installed view): finish any handoff still owed, change nothing else.
                var owed = _installed is { } p && p.NewView.Epoch == old.Epoch ? p : HandoffPlan.Unchanged(old.View!, cluster.NodeId);
                var again = await handoff.HandOffStrayKeysAsync(owed, ct);
                return new ViewChangeResult(old.Epoch, old.MyShard, false, again.Keys, again.Errors);
            }
            var view = decision.View;
            var plan = HandoffPlan.Create(old.View, view, cluster.NodeId);
            if (plan.ShardChanged && plan.NewShard is not null) store.StartIncarnation(cluster.NodeId);
            if (old.Ring is not null)
                // Also with nothing to wait for: the fence then keeps this epoch's reports, to pass on in gossip.
                fence.Begin(view.Epoch, old.Ring, plan.FenceSources);
            cluster.Install(view);
            _installed = plan;
            if (plan.ShardChanged && plan.NewShard is not null) replication.ExpectCatchUp(plan.EstablishedPeers);
            var incoming = fence.AnyPending && fence.Epoch == view.Epoch ? string.Join(", ", fence.PendingShards) : "(none)";
            NodeLog.ViewInstalled(log, view.Epoch, cluster.NodeId, plan.NewShard ?? "(none)", plan.OldShard ?? "(none)",
                view.AllNodes.Count, view.ShardNames.Count, incoming);
            var result = await handoff.HandOffStrayKeysAsync(plan, ct);
            return new ViewChangeResult(view.Epoch, plan.NewShard, true, result.Keys, result.Errors);
        }
        finally
        {
            _serial.Release();
        }
    }
}
