using CausalKv.Node.Cluster;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Sharding;

namespace CausalKv.Node.Api;

/// <summary>
/// <c>GET /view</c>, <c>PUT /view</c>, and <c>POST /view/prepare</c>: phase one of a router's install, with the body of
/// <c>PUT /view</c> and its epoch required. The node promises that view (<see cref="ViewChanger.Prepare"/>) and answers
/// 200, or 409 when it installed or promised another layout under that epoch, or installed a higher one; a router sends
/// <c>PUT /view</c> only once every node promised. A <c>PUT /view</c> without a prepare still installs a view that
/// conflicts with no promise.
/// </summary>
public static class ViewApi
{
    public static IEndpointRouteBuilder MapViewApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/view", (ClusterState cluster, HandoffFence fence, MembershipFile membership) =>
        {
            var m = cluster.Current;
            var departed = Departed(membership, fence);
            return Results.Json(new ViewDocument(m.View?.Epoch ?? 0, ToWire(m.View), m.NodeId, m.MyShard, fence.AnyPending,
                    departed.Count == 0 ? null : [.. departed.Select(d => new WireDepartedNode(d.Node.Id, d.Node.Address, d.LeftAt))]),
                NodeApiJsonContext.Default.ViewDocument);
        });
        app.MapPut("/view", PutViewAsync);
        app.MapPost("/view/prepare", PrepareViewAsync);
        return app;
    }

    private static async Task PrepareViewAsync(HttpContext context, ViewChanger changer, ClusterState cluster)
    {
        if (await ReadViewAsync(context) is not { } read) return;
        var (view, epochGiven) = read;
        if (!epochGiven)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest,
                "A prepare names the epoch it asks a promise for: add \"epoch\" to the body.");
            return;
        }
        var result = changer.Prepare(view);
        await JsonResponses.WriteAsync(context.Response, result.Promised ? StatusCodes.Status200OK : StatusCodes.Status409Conflict, w =>
        {
            w.WriteNumber("epoch", result.Epoch);
            w.WriteNumber("promised", result.Holds);
            w.WriteNumber("node", cluster.NodeId);
            if (result.Error is not null) w.WriteString("error", result.Error);
        });
    }

    /// <summary>The view a request's body names, and whether it gave an epoch; null when an error answer went out instead.</summary>
    private static async Task<(ShardView View, bool EpochGiven)?> ReadViewAsync(HttpContext context)
    {
        byte[] body;
        try { body = await RequestBody.ReadAsync(context.Request, 1024 * 1024, context.RequestAborted); }
        catch (CausalKv.Http.BoundedBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge, e.Message);
            return null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout && !context.RequestAborted.IsCancellationRequested)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status408RequestTimeout,
                "The request body arrived slower than the minimum data rate the node accepts; nothing was changed. Send it at once.");
            return null;
        }
        if (!TryParse(body, out var view, out var epochGiven, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return null;
        }
        return (view!, epochGiven);
    }

    private static async Task PutViewAsync(HttpContext context, ViewChanger changer)
    {
        if (await ReadViewAsync(context) is not { } read) return;
        var (view, epochGiven) = read;
        var result = await changer.ApplyAsync(view, epochGiven, context.RequestAborted);
        // 409: the epoch conflicts with the installed view or a promise (nothing changed); 503: installed, but
        // the handoff is not done yet (resending the same view finishes it).
        var status = result.Stale ? StatusCodes.Status409Conflict
            : result.Errors.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        await JsonResponses.WriteAsync(context.Response, status, w =>
        {
            w.WriteNumber("epoch", result.Epoch);
            if (result.Shard is null) w.WriteNull("shard"); else w.WriteString("shard", result.Shard);
            w.WriteBoolean("changed", result.Changed);
            w.WriteNumber("handedOff", result.KeysHandedOff);
            if (result.Errors.Count > 0) w.WriteString("error", string.Join("; ", result.Errors));
        });
    }

    /// <summary>Parses <c>{"view": {"Shard1": [{"address": "host:port", "id": 0}, ...]}, "epoch": n?}</c> (<see cref="ViewJson"/>).</summary>
    public static bool TryParse(byte[] body, out ShardView? view, out bool epochGiven, out string? error)
    {
        var ok = ViewJson.TryParseRequest(body, out view, out var epoch, out error);
        epochGiven = epoch is not null;
        return ok;
    }

    /// <summary>The nodes this node's views left out that its fence still waits for: <c>GET /view</c>'s <c>departed</c>.</summary>
    public static IReadOnlyList<DepartedNode> Departed(MembershipFile membership, HandoffFence fence) =>
        DepartedNodes.StillAwaited(membership.Current.Departed, fence.State);

    public static Dictionary<string, List<WireViewNode>>? ToWire(ShardView? view) =>
        view?.Shards.ToDictionary(s => s.Key, s => s.Value.Select(n => new WireViewNode(n.Address, n.Id)).ToList());
}

public sealed record WireViewNode(string Address, int Id);

/// <summary>A node left out of this node's views that its fence still waits for, and the epoch that left it out.</summary>
public sealed record WireDepartedNode(int Id, string Address, long LeftAt);

/// <param name="Departed">nodes its views left out that its fence still waits for (<see cref="ViewJson.ReadDeparted"/>); omitted when none</param>
public sealed record ViewDocument(long Epoch, Dictionary<string, List<WireViewNode>>? View, int Node, string? Shard, bool HandoffPending,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] List<WireDepartedNode>? Departed = null);
