using CausalKv.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;

namespace CausalKv.Node.Api;

/// <summary>Node-to-node endpoints: gossip digests, replication batches, handoff.</summary>
public static class InternalApi
{
    public static IEndpointRouteBuilder MapInternalApi(this IEndpointRouteBuilder app)
    {
        // A frontier told to a peer is one the peer may prune dependencies by: it names only writes as durable here as
        // the node's durability promises (with Fsync, every answer waits for the fsync covering what it reports).
        app.MapPost("/internal/gossip", async (HttpContext context, ReplicationCoordinator replication, ClusterState cluster, ReplicaStore store) =>
        {
            var digest = await context.Request.ReadFromJsonAsync(WireJsonContext.Default.GossipDigest, context.RequestAborted);
            if (digest is null) return Results.BadRequest();
            cluster.ObserveEpoch(digest.Epoch);
            var reply = replication.OnGossip(digest);
            await store.WhenDurableAsync(context.RequestAborted);
            return Results.Json(reply, WireJsonContext.Default.GossipDigest);
        });
        app.MapPost("/internal/replicate", async (HttpContext context, ReplicationCoordinator replication, ReplicaStore store) =>
        {
            var message = await context.Request.ReadFromJsonAsync(WireJsonContext.Default.ReplicationMessage, context.RequestAborted);
            if (message is null) return Results.BadRequest();
            var ack = replication.OnReplicate(message);
            await store.WhenDurableAsync(context.RequestAborted);
            return Results.Json(ack, WireJsonContext.Default.ReplicationAck);
        });
        app.MapPost("/internal/frontier", async (HttpContext context, ReplicationCoordinator replication, ReplicaStore store) =>
        {
            var frontier = replication.Frontier();
            await store.WhenDurableAsync(context.RequestAborted);
            return Results.Json(frontier, WireJsonContext.Default.ShardFrontier);
        });
        app.MapPost("/internal/handoff", async (HttpContext context, ReplicaStore store, HandoffFence fence, ClusterState cluster,
            ReplicationCoordinator replication, ILogger<Handoff> log) =>
        {
            var message = await context.Request.ReadFromJsonAsync(HandoffJsonContext.Default.HandoffMessage, context.RequestAborted);
            if (message is null) return Results.BadRequest();
            cluster.ObserveEpoch(message.Epoch);
            var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
            var (origin, last) = versions.Count > 0 ? store.Import(versions) : (0, 0);
            cluster.Received(versions.Select(v => v.Key));
            if (message.Complete)
            {
                // What the other replicas must hold before they lift their fence: every import of this handoff, ours included.
                var requires = new Dictionary<long, long>(message.Requires ?? []);
                if (versions.Count > 0) StableFrontier.JoinInto(requires, new Dictionary<long, long> { [origin] = last });
                // Only a whole handoff says what the moved keys carry: a part says nothing of the keys still to come.
                replication.RecordImport(requires, message.SourceStable);
                var to = message.ToShard ?? cluster.Current.MyShard;
                if (fence.Complete(message.Epoch, new HandoffReport(message.FromShard, message.From, requires, to))) store.Changed.Signal();
            }
            await store.WhenDurableAsync(context.RequestAborted);
            if (versions.Count > 0 || message.Complete)
                NodeLog.KeysGained(log, message.Epoch, versions.Count, message.FromShard, message.From, message.Complete);
            return Results.Json(new HandoffAck
            {
                Node = cluster.NodeId, Epoch = cluster.Current.Epoch, Imported = versions.Count,
                Origin = origin, Last = last,
            }, HandoffJsonContext.Default.HandoffAck);
        });
        return app;
    }
}
