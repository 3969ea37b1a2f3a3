using System.IO.Hashing;
using System.Text;
using CausalKv.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Faults;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;

namespace CausalKv.Node.Api;

/// <summary>Operational endpoints: status, a digest of the state for comparing replicas, and fault injection.</summary>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/status", Status);
        app.MapGet("/admin/digest", (ReplicaStore store, ClusterState cluster) => Results.Json(Digest(store, cluster.Current), NodeApiJsonContext.Default.StateDigest));
        app.MapGet("/admin/faults", (FaultInjector faults) => Results.Json(new FaultSettings(faults.Enabled, faults.Blocked.Order().ToArray()), NodeApiJsonContext.Default.FaultSettings));
        app.MapPut("/admin/faults", async (HttpContext context, FaultInjector faults) =>
        {
            if (!faults.Enabled)
            {
                await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status404NotFound,
                    "Fault injection is off on this node: start it with CausalKv:EnableFaultInjection=true.");
                return;
            }
            FaultSettings? settings;
            try
            {
                settings = await System.Text.Json.JsonSerializer.DeserializeAsync(context.Request.Body, NodeApiJsonContext.Default.FaultSettings, context.RequestAborted);
            }
            catch (System.Text.Json.JsonException)
            {
                settings = null;
            }
            if (settings?.Blocked is null || settings.Blocked.Any(id => id < 0))
            {
                await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest,
                    "Send {\"blocked\": [node ids]} (an empty list heals every link).");
                return;
            }
            faults.SetBlocked(settings.Blocked);
            await context.Response.WriteAsJsonAsync(new FaultSettings(true, faults.Blocked.Order().ToArray()), NodeApiJsonContext.Default.FaultSettings);
        });
        return app;
    }

    private static IResult Status(ReplicaStore store, ClusterState cluster, ReplicationCoordinator replication,
        HandoffFence fence, FaultInjector faults, PeerClient client)
    {
        var m = cluster.Current;
        var status = new NodeStatus(
            m.NodeId, m.MyShard, m.Epoch, store.Count, Name(store.Origin),
            Names(store.AppliedSnapshot()), Names(replication.Stable), replication.CaughtUp,
            fence.PendingShards.ToArray(),
            replication.Links.Select(l => new PeerStatus(l.Peer.Id, l.Peer.Address, l.Reachable, l.LastContact,
                Names(l.KnownApplied), l.BatchesSent, l.WritesSent, l.GossipRounds, l.GossipBytes, l.ReplicationBytes)).ToArray(),
            store.LogEntries, client.BytesSent, client.BytesReceived, faults.Blocked.Order().ToArray(), Environment.ProcessId);
        return Results.Json(status, NodeApiJsonContext.Default.NodeStatus);
    }

    private static string Name(long origin) => $"{OriginId.NodeOf(origin)}.{OriginId.IncarnationOf(origin)}";

    private static Dictionary<string, long> Names(IReadOnlyDictionary<long, long> frontier) =>
        frontier.ToDictionary(kv => Name(kv.Key), kv => kv.Value);

    /// <summary>An order-independent hash of every owned key's value, tag and clock: equal digests, equal replicas.</summary>
    public static StateDigest Digest(ReplicaStore store, Membership membership)
    {
        ulong acc = 0;
        var live = 0;
        var buffer = new StringBuilder();
        foreach (var (key, v) in store.All)
        {
            if (!membership.Owns(key)) continue;
            if (!v.IsDeleted) live++;
            buffer.Clear().Append(key).Append('\0').Append(v.Value ?? "\u0001deleted").Append('\0')
                .Append(v.Tag.Timestamp).Append(':').Append(v.Tag.Node);
            acc ^= XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(buffer.ToString()));
        }
        return new StateDigest(membership.MyShard, membership.Epoch, live, acc.ToString("x16"));
    }
}

public sealed record PeerStatus(int Id, string Address, bool Reachable, DateTimeOffset? LastContact,
    Dictionary<string, long> Applied, long BatchesSent, long WritesSent, long GossipRounds, long GossipBytes, long ReplicationBytes);

public sealed record NodeStatus(int Node, string? Shard, long Epoch, long Keys, string Origin,
    Dictionary<string, long> Applied, Dictionary<string, long> Stable, bool CaughtUp, string[] HandoffPendingFrom,
    PeerStatus[] Peers, int LogEntries, long PeerBytesSent, long PeerBytesReceived, int[] Blocked, int Pid);

public sealed record FaultSettings(bool Enabled, int[]? Blocked);

public sealed record StateDigest(string? Shard, long Epoch, int Keys, string Hash);
