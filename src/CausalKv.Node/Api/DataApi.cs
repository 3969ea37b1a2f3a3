using CausalKv.Http;
namespace CausalKv.Node.Api;

/// <summary>
/// The data API routes of api.md; the handlers live in <see cref="DataEndpoints"/>. The key is the one
/// <see cref="DataKeys"/> decoded from the raw request target, never the route value (a decoded path).
/// </summary>
public static class DataApi
{
    public static IEndpointRouteBuilder MapDataApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/data/{key}", (HttpContext c, DataEndpoints h) => WithKey(c, h.GetAsync));
        app.MapPut("/data/{key}", (HttpContext c, DataEndpoints h) => WithKey(c, h.PutAsync));
        app.MapDelete("/data/{key}", (HttpContext c, DataEndpoints h) => WithKey(c, h.DeleteAsync));
        app.MapGet("/data", (HttpContext c, DataEndpoints h) => h.GetAllAsync(c));
        return app;
    }

    private static Task WithKey(HttpContext context, Func<HttpContext, string, Task> handler) =>
        DataKeys.Of(context) is { } key
            ? handler(context, key)
            // Reached /data/{key} only after Kestrel removed dot segments (/x/../data/k): which key was meant is unclear.
            : JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest,
                "Send a key as /data/{key}, the key one percent-encoded path segment (no dot segments around it).");
}
