using CausalKv.Http;
using CausalKv.Router.Routing;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Api;

/// <summary>The data API of api.md, for the whole cluster: single keys go to their shard, <c>GET /data</c> to every shard.</summary>
internal static class DataRoutes
{
    public static IEndpointRouteBuilder MapDataRoutes(this IEndpointRouteBuilder app)
    {
        // The hot path is a plain RequestDelegate over singletons taken once: no per-request DI scope or parameter binding.
        var forwarder = app.ServiceProvider.GetRequiredService<DataForwarder>();
        var options = app.ServiceProvider.GetRequiredService<IOptions<RouterOptions>>().Value;
        app.MapMethods("/data/{key}", [HttpMethods.Get, HttpMethods.Put, HttpMethods.Delete],
            context => DataKeys.Of(context) is { } key
                ? RouteKeyAsync(context, key, forwarder, options)
                // Reached /data/{key} only after Kestrel removed dot segments (/x/../data/k): which key was meant is unclear.
                : JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest,
                    "Send a key as /data/{key}, the key one percent-encoded path segment (no dot segments around it)."));
        app.MapGet("/data", ReadAllAsync);
        return app;
    }

    private static async Task RouteKeyAsync(HttpContext context, string key, DataForwarder forwarder, RouterOptions options)
    {
        if (await BufferAsync(context, options) is not { } body) return;
        var outcome = await forwarder.ForwardAsync(context, key, RequestBody.Replay(context.Request, body));
        if (outcome.Error is null || context.Response.HasStarted || context.RequestAborted.IsCancellationRequested) return;
        context.Response.Clear();
        await JsonResponses.ErrorAsync(context.Response, outcome.Status, outcome.Error);
    }

    private static async Task ReadAllAsync(HttpContext context, AllItemsReader reader, PagedItemsReader pages, IOptions<RouterOptions> options)
    {
        if (await BufferAsync(context, options.Value) is not { } body) return;
        var query = context.Request.Query;
        if (!CausalKv.Paging.PageQuery.TryParse(name => query[name], out var page, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        if (page.IsPaged)
        {
            await pages.ReadAsync(context, body, page);
            return;
        }
        var answer = await reader.ReadAsync(context.Request, body);
        if (answer is null) return;
        await JsonResponses.WriteAsync(context.Response, answer.Status, answer.Body);
    }

    /// <summary>The request body, or null after answering 413 when it is over the limit, or 408 when it came too slowly.</summary>
    private static async Task<byte[]?> BufferAsync(HttpContext context, RouterOptions options)
    {
        try
        {
            return await RequestBody.ReadAsync(context.Request, options.MaxBodyBytes, context.RequestAborted);
        }
        catch (CausalKv.Http.BoundedBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status413PayloadTooLarge,
                $"The request body is over {e.Limit} bytes; values may be at most {options.MaxValueBytes} bytes.");
            return null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout && !context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel gave up on a body sent slower than its minimum data rate (Kestrel:Limits:MinRequestBodyDataRate).
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status408RequestTimeout,
                "The request body arrived slower than the minimum data rate the router accepts; nothing was sent on. Send it at once.");
            return null;
        }
    }
}
