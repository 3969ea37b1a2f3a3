using CausalKv.Node.Replication;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CausalKv.Node.Cluster;

/// <summary>Ready once this node is in a view and owes no handoff; before that a router should not send it data.</summary>
public sealed class ViewHealthCheck(ClusterState cluster, HandoffFence fence) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var m = cluster.Current;
        if (!m.InView)
            return Task.FromResult(HealthCheckResult.Unhealthy(m.View is null ? "no view installed" : "not in the current view"));
        if (fence.AnyPending)
            return Task.FromResult(HealthCheckResult.Degraded($"waiting for handoff from {string.Join(", ", fence.PendingShards)}"));
        return Task.FromResult(HealthCheckResult.Healthy($"shard {m.MyShard}, epoch {m.Epoch}"));
    }
}
