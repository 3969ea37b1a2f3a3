using System.Security.Cryptography;
using System.Text;
using CausalKv.Router.Discovery;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Api;

/// <summary><c>GET /view</c> (the view the router routes by) and <c>PUT /view</c> (install a view on every node).</summary>
internal static class ViewApi
{
    private const long MaxViewBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapViewApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/view", GetViewAsync);
        app.MapPut("/view", PutViewAsync);
        return app;
    }

    private static Task GetViewAsync(HttpContext context, ViewTracker views)
    {
        var view = views.Current.View;
        return JsonResponses.WriteAsync(context.Response, StatusCodes.Status200OK, w =>
        {
            w.WriteNumber("epoch", view?.Epoch ?? 0);
            w.WritePropertyName("view");
            if (view is null) w.WriteNullValue(); else ViewJson.Write(w, view);
        });
    }

    private static async Task PutViewAsync(HttpContext context, ViewBroadcaster broadcaster, IOptions<RouterOptions> options)
    {
        if (!IsAuthorized(context.Request, options.Value.ClusterKey))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status401Unauthorized,
                $"Changing the view is for the cluster's operators only: send the cluster key in the {ViewBroadcaster.ClusterKeyHeader} header.");
            return;
        }
        byte[] body;
        try
        {
            body = await RequestBody.ReadAsync(context.Request, MaxViewBodyBytes, context.RequestAborted);
        }
        catch (CausalKv.Http.BoundedBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge, e.Message);
            return;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout && !context.RequestAborted.IsCancellationRequested)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status408RequestTimeout,
                "The request body arrived slower than the minimum data rate the router accepts; nothing was changed. Send it at once.");
            return;
        }
        if (!ViewJson.TryParseRequest(body, out var layout, out var epoch, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        var result = await broadcaster.BroadcastAsync(layout!, epoch, context.RequestAborted);
        var status = result.RefusedWith ?? (result.AllSucceeded ? StatusCodes.Status200OK : StatusCodes.Status502BadGateway);
        await JsonResponses.WriteAsync(context.Response, status, w =>
        {
            w.WriteNumber("epoch", result.Epoch);
            if (result.RefusedWith is null) w.WriteBoolean("retry", result.Retry);
            // When refused for unreachable nodes, or for nodes that promised another view: those nodes and why;
            // otherwise every node's own answer.
            w.WriteStartArray(result.RefusedWith is null ? "nodes"
                : result.RefusedWith == StatusCodes.Status409Conflict && result.Nodes.Count > 0 ? "refused" : "unreachable");
            foreach (var node in result.Nodes)
            {
                w.WriteStartObject();
                w.WriteNumber("id", node.Id);
                w.WriteString("address", node.Address);
                w.WriteNumber("status", node.Status);
                w.WritePropertyName("body");
                node.Body.WriteTo(w);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (result.Error is not null) w.WriteString("error", result.Error);
            else if (!result.AllSucceeded) w.WriteString("error", "Not every node installed the view; see each node's answer. Sending the same PUT /view again finishes it.");
        });
    }

    private static bool IsAuthorized(HttpRequest request, string? clusterKey)
    {
        if (string.IsNullOrEmpty(clusterKey)) return true;
        var given = request.Headers[ViewBroadcaster.ClusterKeyHeader].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(clusterKey));
    }
}
