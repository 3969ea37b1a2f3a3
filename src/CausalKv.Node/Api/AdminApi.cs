using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using CausalKv.Causality;
using CausalKv.Node.Faults;
using CausalKv.Node.Replication;
using CausalKv.Protocol;

namespace CausalKv.Node.Api;

/// <summary>Operational endpoints: status, a digest of the state for comparing replicas, and fault injection.</summary>
public static class AdminApi
{
    private static readonly SemaphoreSlim DigestSlot = new(1, 1);

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/status", Status);
        app.MapGet("/admin/digest", async (ReplicaStore store, ClusterState cluster, CancellationToken ct) =>
        {
            // One digest at a time: it reads the whole store, and a second one at once would only halve the speed of both.
            await DigestSlot.WaitAsync(ct);
            try { return Results.Json(await Task.Run(() => Digest(store, cluster.Current), ct), NodeApiJsonContext.Default.StateDigest); }
            finally { DigestSlot.Release(); }
        });
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
        var status = new NodeStatusReport(
            m.NodeId, m.MyShard, m.Epoch, store.Count, Name(store.Origin),
            Names(store.AppliedSnapshot()), Names(replication.Stable), replication.CaughtUp,
            fence.PendingShards.ToArray(),
            replication.Links.Select(l => new PeerStatusReport(l.Peer.Id, l.Peer.Address, l.Reachable, l.LastContact,
                Names(l.KnownApplied), l.BatchesSent, l.WritesSent, l.GossipRounds, l.GossipBytes, l.ReplicationBytes)).ToArray(),
            store.LogEntries, client.BytesSent, client.BytesReceived, faults.Blocked.Order().ToArray(), Environment.ProcessId);
        return Results.Json(status, NodeStatusJsonContext.Default.NodeStatusReport);
    }

    private static string Name(long origin) => $"{OriginId.NodeOf(origin)}.{OriginId.IncarnationOf(origin)}";

    private static Dictionary<string, long> Names(Frontier frontier) =>
        frontier.ToDictionary(kv => Name(kv.Key), kv => kv.Value);

    /// <summary>An order-independent hash of every owned key's value, tag and clock: equal digests, equal replicas.</summary>
    public static StateDigest Digest(ReplicaStore store, Membership membership)
    {
        ulong acc = 0;
        var live = 0;
        var hash = new XxHash64();
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        Span<byte> tag = stackalloc byte[13];
        try
        {
            foreach (var (key, v) in store.All)
            {
                if (!membership.Owns(key)) continue;
                if (!v.IsDeleted) live++;
                hash.Reset();
                Append(hash, key, ref buffer);
                hash.Append([0]);
                Append(hash, v.Value ?? "\u0001deleted", ref buffer);
                BinaryPrimitives.WriteInt64LittleEndian(tag[1..], v.Tag.Timestamp);
                BinaryPrimitives.WriteInt32LittleEndian(tag[9..], v.Tag.Node);
                hash.Append(tag);
                acc ^= hash.GetCurrentHashAsUInt64();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return new StateDigest(membership.MyShard, membership.Epoch, live, acc.ToString("x16"));
    }

    private static void Append(XxHash64 hash, string text, ref byte[] buffer)
    {
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (length > buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(length);
        }
        hash.Append(buffer.AsSpan(0, Encoding.UTF8.GetBytes(text, buffer)));
    }
}

public sealed record FaultSettings(bool Enabled, int[]? Blocked);

public sealed record StateDigest(string? Shard, long Epoch, int Keys, string Hash);
