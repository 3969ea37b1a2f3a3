using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CausalKv.Router.Api;
using CausalKv.Router.Discovery;
using CausalKv.Router.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Reconciliation;

/// <summary>
/// <c>GET /cluster/declaration</c> (the declaration the router reconciles with) and <c>PUT /cluster/declaration</c>
/// (a newer one, for the cluster's operators: the cluster key in <c>X-CausalKv-Key</c>). The body is
/// <c>{"generation": 2, "shards": 3, "replicasPerShard": 2, "members": ["kv-0", ...]}</c> or
/// <c>{"generation": 2, "layout": {"shard0": ["kv-0", "kv-1"], ...}}</c>. The change is applied by the reconciler.
/// </summary>
internal static class DeclarationApi
{
    public const string Path = "/cluster/declaration";

    public static IEndpointRouteBuilder MapDeclarationApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext context, IServiceProvider services) =>
        {
            var reconciler = services.GetService<ClusterReconciler>();
            if (reconciler is null) return NotDeclaredAsync(context.Response);
            return JsonResponses.WriteAsync(context.Response, StatusCodes.Status200OK, w => Write(w, reconciler.Declaration));
        });
        app.MapPut(Path, PutAsync);
        return app;
    }

    private static Task NotDeclaredAsync(HttpResponse response) =>
        JsonResponses.ErrorAsync(response, StatusCodes.Status404NotFound,
            "This router reconciles no declared cluster: start it with CausalKv:Cluster:Members (and Shards, ReplicasPerShard, Generation).");

    private static async Task PutAsync(HttpContext context, IServiceProvider services, IOptions<RouterOptions> options, ILogger<ClusterReconciler> log)
    {
        var key = options.Value.ClusterKey;
        var given = context.Request.Headers[ViewBroadcaster.ClusterKeyHeader].ToString();
        if (!string.IsNullOrEmpty(key) && !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(key)))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status401Unauthorized,
                $"Changing the declaration is for the cluster's operators only: send the cluster key in the {ViewBroadcaster.ClusterKeyHeader} header.");
            return;
        }
        var reconciler = services.GetService<ClusterReconciler>();
        if (reconciler is null)
        {
            await NotDeclaredAsync(context.Response);
            return;
        }
        byte[] body;
        try { body = await RequestBody.ReadAsync(context.Request, 1024 * 1024, context.RequestAborted); }
        catch (CausalKv.Http.BoundedBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge, e.Message);
            return;
        }
        if (!TryParse(body, out var declaration, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        if (!reconciler.TryDeclare(declaration!, out error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status409Conflict, error!);
            return;
        }
        RouterLog.DeclarationChanged(log, declaration!.ToString());
        await JsonResponses.WriteAsync(context.Response, StatusCodes.Status202Accepted, w => Write(w, declaration));
    }

    public static bool TryParse(byte[] body, out ClusterDeclaration? declaration, out string? error)
    {
        declaration = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("generation", out var g) || !g.TryGetInt64(out var generation))
            {
                error = "The body must be a JSON object with a \"generation\" (an integer) and \"members\" or \"layout\".";
                return false;
            }
            if (root.TryGetProperty("layout", out var layout) && layout.ValueKind == JsonValueKind.Object)
            {
                var shards = new List<KeyValuePair<string, IReadOnlyList<string>>>();
                foreach (var shard in layout.EnumerateObject())
                {
                    if (shard.Value.ValueKind != JsonValueKind.Array || shard.Value.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String))
                    {
                        error = $"layout.{shard.Name} must be an array of member names.";
                        return false;
                    }
                    shards.Add(new(shard.Name, [.. shard.Value.EnumerateArray().Select(m => m.GetString()!)]));
                }
                return ClusterDeclaration.TryCreate(generation, shards, out declaration, out error);
            }
            if (!root.TryGetProperty("members", out var members) || members.ValueKind != JsonValueKind.Array || members.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String))
            {
                error = "\"members\" must be an array of member names (or give a \"layout\").";
                return false;
            }
            var count = root.TryGetProperty("shards", out var s) && s.TryGetInt32(out var n) ? n : 1;
            int? replicas = root.TryGetProperty("replicasPerShard", out var r) && r.TryGetInt32(out var rr) ? rr : null;
            return ClusterDeclaration.TryCreate(generation, count, replicas, [.. members.EnumerateArray().Select(m => m.GetString()!)], out declaration, out error);
        }
        catch (JsonException e)
        {
            error = "The body is not JSON: " + e.Message;
            return false;
        }
    }

    private static void Write(Utf8JsonWriter w, ClusterDeclaration declaration)
    {
        w.WriteNumber("generation", declaration.Generation);
        w.WriteStartObject("layout");
        foreach (var shard in declaration.Shards)
        {
            w.WriteStartArray(shard.Name);
            foreach (var m in shard.Members) w.WriteStringValue(m.Name);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteStartObject("ids");
        foreach (var m in declaration.Members) w.WriteNumber(m.Name, m.Id);
        w.WriteEndObject();
    }
}
