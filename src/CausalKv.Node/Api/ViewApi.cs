using CausalKv.Node.Cluster;
using CausalKv.Node.Replication;
using CausalKv.Sharding;

namespace CausalKv.Node.Api;

/// <summary><c>PUT /view</c> and <c>GET /view</c>.</summary>
public static class ViewApi
{
    public static IEndpointRouteBuilder MapViewApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/view", (ClusterState cluster, HandoffFence fence) =>
        {
            var m = cluster.Current;
            return Results.Json(new ViewDocument(m.View?.Epoch ?? 0, ToWire(m.View), m.NodeId, m.MyShard, fence.AnyPending),
                NodeApiJsonContext.Default.ViewDocument);
        });
        app.MapPut("/view", PutViewAsync);
        return app;
    }

    private static async Task PutViewAsync(HttpContext context, ViewChanger changer)
    {
        byte[] body;
        try { body = await RequestBody.ReadAsync(context.Request, 1024 * 1024, context.RequestAborted); }
        catch (CausalKv.Http.BoundedBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge, e.Message);
            return;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout && !context.RequestAborted.IsCancellationRequested)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status408RequestTimeout,
                "The request body arrived slower than the minimum data rate the node accepts; nothing was changed. Send it at once.");
            return;
        }
        if (!TryParse(body, out var view, out var epochGiven, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        var result = await changer.ApplyAsync(view!, epochGiven, context.RequestAborted);
        // 409: the epoch conflicts with the installed view (a client's mistake, nothing changed); 503: installed, but
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

    public static Dictionary<string, List<WireViewNode>>? ToWire(ShardView? view) =>
        view?.Shards.ToDictionary(s => s.Key, s => s.Value.Select(n => new WireViewNode(n.Address, n.Id)).ToList());
}

public sealed record WireViewNode(string Address, int Id);

public sealed record ViewDocument(long Epoch, Dictionary<string, List<WireViewNode>>? View, int Node, string? Shard, bool HandoffPending);
