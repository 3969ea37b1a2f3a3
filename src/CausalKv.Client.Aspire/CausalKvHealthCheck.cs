using CausalKv.Client;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CausalKv.Client.Aspire;

/// <summary>Healthy while the cluster answers with a view: the client can route.</summary>
internal sealed class CausalKvHealthCheck(CausalKvClient client, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var view = await client.RefreshViewAsync(deadline.Token);
            return view is null
                ? HealthCheckResult.Unhealthy("No endpoint of the CausalKv cluster answered with a view.")
                : HealthCheckResult.Healthy($"View epoch {view.Epoch}: {view.ShardNames.Count} shard(s).");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"The CausalKv cluster did not answer within {timeout.TotalSeconds:0.#} s.");
        }
    }
}
