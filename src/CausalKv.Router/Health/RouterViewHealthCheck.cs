using CausalKv.Router.Discovery;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CausalKv.Router.Health;

/// <summary>
/// Ready once the router holds a view to route by: before that every data request would answer 503, so a load
/// balancer, a readiness probe or Aspire's <c>WaitFor(router)</c> must not count it as serving. Liveness
/// (<c>/alive</c>) does not depend on it.
/// </summary>
internal sealed class RouterViewHealthCheck(ViewTracker views) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var map = views.Current;
        return Task.FromResult(map.View is { } view
            ? HealthCheckResult.Healthy($"routing by epoch {view.Epoch}: {view.ShardNames.Count} shards, {view.AllNodes.Count} nodes")
            : HealthCheckResult.Unhealthy(views.HighestEpoch > 0
                ? $"no view to route by yet (the nodes report epoch {views.HighestEpoch}; its layout is not known here yet)"
                : "no view to route by yet: no node holds one"));
    }
}
