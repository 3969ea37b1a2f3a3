using System.Text.Json;
using CausalKv.Node.Cluster;
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
        catch (RequestBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge, e.Message);
            return;
        }
        if (!TryParse(body, out var view, out var epochGiven, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        var result = await changer.ApplyAsync(view!, epochGiven, context.RequestAborted);
        var status = result.Errors.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        await JsonResponses.WriteAsync(context.Response, status, w =>
        {
            w.WriteNumber("epoch", result.Epoch);
            if (result.Shard is null) w.WriteNull("shard"); else w.WriteString("shard", result.Shard);
            w.WriteBoolean("changed", result.Changed);
            w.WriteNumber("handedOff", result.KeysHandedOff);
            if (result.Errors.Count > 0) w.WriteString("error", string.Join("; ", result.Errors));
        });
    }

    /// <summary>Parses <c>{"view": {"Shard1": [{"address": "host:port", "id": 0}, ...]}, "epoch": n?}</c>.</summary>
    public static bool TryParse(byte[] body, out ShardView? view, out bool epochGiven, out string? error)
    {
        view = null;
        epochGiven = false;
        if (!RequestBody.TryParseObject(body, out var document, out error)) return false;
        using (document)
        {
            if (document is null || !document.RootElement.TryGetProperty("view", out var v) || v.ValueKind != JsonValueKind.Object)
            {
                error = "The body needs a \"view\" object: {\"view\": {\"Shard1\": [{\"address\": \"host:port\", \"id\": 0}]}}.";
                return false;
            }
            long epoch = 0;
            if (document.RootElement.TryGetProperty("epoch", out var e) && e.ValueKind != JsonValueKind.Null)
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out epoch) || epoch < 1) { error = "\"epoch\", when given, must be a positive integer."; return false; }
                epochGiven = true;
            }
            var shards = new Dictionary<string, IReadOnlyList<ViewNode>>(StringComparer.Ordinal);
            foreach (var shard in v.EnumerateObject())
            {
                if (shards.ContainsKey(shard.Name)) { error = $"Shard '{shard.Name}' appears twice."; return false; }
                if (shard.Value.ValueKind != JsonValueKind.Array) { error = $"Shard '{shard.Name}' must be a list of nodes."; return false; }
                var nodes = new List<ViewNode>();
                foreach (var n in shard.Value.EnumerateArray())
                {
                    if (n.ValueKind != JsonValueKind.Object
                        || !n.TryGetProperty("address", out var a) || a.ValueKind != JsonValueKind.String
                        || !n.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number
                        || !id.TryGetInt32(out var nodeId) || nodeId < 0)
                    {
                        error = $"Every node of shard '{shard.Name}' needs a string \"address\" (host:port) and a non-negative integer \"id\".";
                        return false;
                    }
                    nodes.Add(new ViewNode(a.GetString()!, nodeId));
                }
                shards[shard.Name] = nodes;
            }
            if (!ShardView.TryCreate(epoch, shards, out view, out error))
            {
                error = "Malformed view: " + error;
                return false;
            }
            return true;
        }
    }

    public static Dictionary<string, List<WireViewNode>>? ToWire(ShardView? view) =>
        view?.Shards.ToDictionary(s => s.Key, s => s.Value.Select(n => new WireViewNode(n.Address, n.Id)).ToList());
}

public sealed record WireViewNode(string Address, int Id);

public sealed record ViewDocument(long Epoch, Dictionary<string, List<WireViewNode>>? View, int Node, string? Shard, bool HandoffPending);
