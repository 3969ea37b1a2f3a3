using System.Text.Json;
using CausalKv.AppHost.Orchestration;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// The Cluster page's API: the installed view (epoch, shards and replicas), what
/// each running node reports about itself (keys, its causal context: the applied
/// frontier per origin, what is stable, which peers it reaches), which links are
/// cut, and the controls to cut and heal a link between two nodes.
/// </summary>
internal static class ClusterApi
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/cluster", async (AttachedApp attached, CancellationToken ct) =>
        {
            if (attached.App is not { } kv) return AttachedApp.NotAttached();
            var nodes = await Task.WhenAll(kv.Nodes.Select(n => DescribeAsync(kv, n, ct)));
            var keysOf = nodes.Where(n => n.Keys is not null).ToDictionary(n => n.Id, n => n.Keys!.Value);
            return Results.Json(new
            {
                epoch = kv.Epoch,
                shards = kv.Layout.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => new
                {
                    name = s.Key,
                    nodes = s.Value,
                    // Every replica of a shard holds all its keys once converged; the fullest replica is the shard's count.
                    keys = s.Value.Where(keysOf.ContainsKey).Select(id => keysOf[id]).DefaultIfEmpty(0).Max(),
                }),
                nodes,
                cuts = Links(kv.Cuts),
            });
        });

        app.MapPost("/api/cluster/links/{a:int}/{b:int}/{action}", async (int a, int b, string action, AttachedApp attached, CancellationToken ct) =>
        {
            if (attached.App is not { } kv) return AttachedApp.NotAttached();
            if (a == b || !kv.Nodes.Any(n => n.NodeId == a) || !kv.Nodes.Any(n => n.NodeId == b))
                return Results.BadRequest(new { error = $"A link joins two different nodes of the cluster (got {a} and {b})." });
            Func<Task>? change = action switch
            {
                "cut" => () => kv.CutAsync(a, b, ct),
                "heal" => () => kv.HealAsync(a, b, ct),
                _ => null,
            };
            if (change is null) return Results.BadRequest(new { error = $"Unknown action '{action}' (cut, heal)." });
            try { await change(); }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
            {
                return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status409Conflict);
            }
            return Results.Ok(new { cuts = Links(kv.Cuts) });
        });

        app.MapPost("/api/cluster/heal-all", async (AttachedApp attached, CancellationToken ct) =>
        {
            if (attached.App is not { } kv) return AttachedApp.NotAttached();
            try { await kv.HealAllAsync(ct); }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
            {
                return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status409Conflict);
            }
            return Results.Ok(new { cuts = Links(kv.Cuts) });
        });
        return app;
    }

    /// <summary>Cuts are symmetric: each shows once, as (lower id, higher id).</summary>
    private static IEnumerable<object> Links(IReadOnlyDictionary<int, int[]> cuts) =>
        cuts.SelectMany(kv => kv.Value.Select(to => (A: Math.Min(kv.Key, to), B: Math.Max(kv.Key, to))))
            .Distinct().Order().Select(l => new { a = l.A, b = l.B });

    private static async Task<NodeView> DescribeAsync(CausalKvApp kv, ProjectResource node, CancellationToken ct)
    {
        var id = node.NodeId!.Value;
        var shard = kv.Layout.FirstOrDefault(s => s.Value.Contains(id)).Key;
        JsonElement? status = null;
        string? error = null;
        if (node.State == ResourceState.Running)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(StatusTimeout);
            try { status = await kv.GetStatusAsync(node.Name, cts.Token); }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
            {
                error = e is OperationCanceledException ? "no status within 2 s" : e.Message;
            }
        }
        long? keys = status is { } s && s.TryGetProperty("keys", out var k) && k.TryGetInt64(out var n) ? n : null;
        return new NodeView(id, node.Name, node.State.ToString(), node.Health.ToString(), node.Endpoint.ToString().TrimEnd('/'), shard, keys, status, error);
    }

    private sealed record NodeView(int Id, string Name, string State, string Health, string Endpoint, string? Shard, long? Keys, JsonElement? Status, string? Error);
}
