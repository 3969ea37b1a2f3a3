using CausalKv.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Http;

/// <summary>
/// Reads the key of every <c>/data/{key}</c> request from its raw target, before routing (<see cref="KeyPath"/>): the
/// path Kestrel decoded cannot tell <c>a%2Fb</c> from <c>a%252Fb</c> and has no <c>%2E</c> left. A target whose key does
/// not decode is a JSON 400; one that does is routed to the data endpoints, which take the key from here (a node's
/// handlers, the router's shard routing) and forward it escaped once. Nodes and the router read keys with this one piece.
/// </summary>
public static class DataKeys
{
    private static readonly object KeyItem = new();

    public static IApplicationBuilder UseDataKeys(this IApplicationBuilder app) => app.Use(ReadKeyAsync);

    /// <summary>The key of this request, decoded once from its raw target; null when it was not sent as <c>/data/{key}</c>.</summary>
    public static string? Of(HttpContext context) => context.Items.TryGetValue(KeyItem, out var key) ? (string?)key : null;

    private static Task ReadKeyAsync(HttpContext context, RequestDelegate next)
    {
        switch (KeyPath.Parse(context.Features.Get<IHttpRequestFeature>()?.RawTarget, out var key, out var error))
        {
            case KeyTargetKind.Key:
                context.Items[KeyItem] = key;
                // Routed by its escaped form, which no segment of the path can be confused with.
                context.Request.Path = KeyPath.PathOf(key!);
                break;
            case KeyTargetKind.Invalid:
                return JsonErrors.WriteAsync(context.Response, StatusCodes.Status400BadRequest, error!);
        }
        return next(context);
    }
}
