using CausalKv.Node.Replication;

namespace CausalKv.Node.Api;

/// <summary>Node-to-node endpoints: each reads its message and hands it to <see cref="PeerEndpoints"/>.</summary>
public static class InternalApi
{
    public static IEndpointRouteBuilder MapInternalApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(PeerPaths.Gossip, async (HttpContext context, PeerEndpoints peers) =>
        {
            var digest = await context.Request.ReadFromJsonAsync(WireJsonContext.Default.GossipDigest, context.RequestAborted);
            if (digest is null) return Results.BadRequest();
            return Results.Json(await peers.GossipAsync(digest, context.RequestAborted), WireJsonContext.Default.GossipDigest);
        });
        app.MapPost(PeerPaths.Replicate, async (HttpContext context, PeerEndpoints peers) =>
        {
            var message = await context.Request.ReadFromJsonAsync(WireJsonContext.Default.ReplicationMessage, context.RequestAborted);
            if (message is null) return Results.BadRequest();
            try
            {
                return Results.Json(await peers.ReplicateAsync(message, context.RequestAborted), WireJsonContext.Default.ReplicationAck);
            }
            catch (BehindViewException e)
            {
                // Not a failure of this node: the sender pauses and pushes again, by when this node may follow its view.
                return Results.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        app.MapPost(PeerPaths.Frontier, async (HttpContext context, PeerEndpoints peers) =>
            Results.Json(await peers.FrontierAsync(context.RequestAborted), WireJsonContext.Default.ShardFrontier));
        app.MapPost(PeerPaths.Handoff, async (HttpContext context, PeerEndpoints peers) =>
        {
            var message = await context.Request.ReadFromJsonAsync(HandoffJsonContext.Default.HandoffMessage, context.RequestAborted);
            if (message is null) return Results.BadRequest();
            return Results.Json(await peers.HandoffAsync(message, context.RequestAborted), HandoffJsonContext.Default.HandoffAck);
        });
        return app;
    }
}
