using CausalKv.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;

namespace CausalKv.Node.Api;

/// <summary>Node-to-node endpoints: gossip digests, replication batches, handoff.</summary>
public static class InternalApi
{
    public static IEndpointRouteBuilder MapInternalApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/internal/gossip", async (HttpContext context, ReplicationCoordinator replication) =>
        {
            var digest = await context.Request.ReadFromJsonAsync(WireJsonContext.Default.GossipDigest, context.RequestAborted);
            if (digest is null) return Results.BadRequest();
            return Results.Json(replication.OnGossip(digest), WireJsonContext.Default.GossipDigest);
        });
        app.MapPost("/internal/replicate", async (HttpContext context, ReplicationCoordinator replication) =>
        {
            var message = await context.Request.ReadFromJsonAsync(WireJsonContext.Default.ReplicationMessage, context.RequestAborted);
            if (message is null) return Results.BadRequest();
            return Results.Json(replication.OnReplicate(message), WireJsonContext.Default.ReplicationAck);
        });
        app.MapPost("/internal/handoff", async (HttpContext context, ReplicaStore store, HandoffFence fence, ClusterState cluster) =>
        {
            var message = await context.Request.ReadFromJsonAsync(HandoffJsonContext.Default.HandoffMessage, context.RequestAborted);
            if (message is null) return Results.BadRequest();
            var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
            store.Import(versions);
            if (message.Complete && fence.Complete(message.Epoch, message.FromShard)) store.Changed.Signal();
            return Results.Json(new HandoffAck { Node = cluster.NodeId, Epoch = cluster.Current.Epoch, Imported = versions.Count },
                HandoffJsonContext.Default.HandoffAck);
        });
        return app;
    }
}
