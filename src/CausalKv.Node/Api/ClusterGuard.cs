using CausalKv.Node.Configuration;
using CausalKv.Node.Faults;

namespace CausalKv.Node.Api;

/// <summary>
/// Runs before every endpoint: drops requests from nodes this node pretends it
/// cannot reach (they hang, like lost packets), and demands the cluster key on
/// node-to-node and cluster-changing endpoints, and on the state digest, once one is configured.
/// </summary>
public sealed class ClusterGuard(RequestDelegate next, NodeIdentity identity, FaultInjector faults)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (faults.Enabled && int.TryParse(context.Request.Headers[NodeIdentity.FromNodeHeader], out var from) && faults.IsBlocked(from))
        {
            try { await Task.Delay(Timeout.Infinite, context.RequestAborted); }
            catch (OperationCanceledException) { }
            context.Abort();
            return;
        }
        if (IsProtected(context.Request) && !identity.IsAuthorized(context.Request))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status401Unauthorized,
                $"This endpoint is for the cluster only: send the cluster key in the {NodeIdentity.ClusterKeyHeader} header.");
            return;
        }
        await next(context);
    }

    private static bool IsProtected(HttpRequest request)
    {
        var path = request.Path;
        if (path.StartsWithSegments("/internal")) return true;
        if (path.StartsWithSegments("/view") && !HttpMethods.IsGet(request.Method)) return true;
        if (path.StartsWithSegments("/admin/faults") && !HttpMethods.IsGet(request.Method)) return true;
        // A digest reads every key and value the node holds (seconds of CPU for a large store): for the cluster's operators only.
        if (path.StartsWithSegments("/admin/digest")) return true;
        return false;
    }
}
