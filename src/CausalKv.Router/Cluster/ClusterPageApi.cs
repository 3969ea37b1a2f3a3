using System.Text.Json;
using CausalKv.Router.Api;
using CausalKv.Router.Discovery;

namespace CausalKv.Router.Cluster;

/// <summary>
/// <c>GET /cluster</c> (a self-contained page) and <c>GET /cluster/state</c> (the JSON it polls every second): shards,
/// replicas, causal contexts and cut links, read live from the nodes of the view the router routes by now, so a view
/// change shows at the next poll. Off the data path: nothing here runs for a data request, and the nodes are asked
/// through the health-probe timeout at most one round at a time.
/// </summary>
internal static class ClusterPageApi
{
    public const string PagePath = "/cluster";
    public const string StatePath = "/cluster/state";

    /// <summary>The page's resource name, as the Router's project file embeds it.</summary>
    public const string PageResource = "CausalKv.Router.Cluster.cluster.html";

    // Everything the page needs is inline; it fetches only its own state. Node data rendered into it cannot load anything.
    private const string PagePolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'";

    public static IEndpointRouteBuilder MapClusterPage(this IEndpointRouteBuilder app)
    {
        var page = LoadPage();
        var views = app.ServiceProvider.GetRequiredService<ViewTracker>();
        var reader = ActivatorUtilities.CreateInstance<NodeStatusReader>(app.ServiceProvider);
        var reconciler = app.ServiceProvider.GetService<Reconciliation.ClusterReconciler>();
        app.MapGet(PagePath, context => WritePageAsync(context.Response, page));
        app.MapGet(StatePath, context => WriteStateAsync(context.Response, views, reader, reconciler));
        return app;
    }

    public static byte[] LoadPage()
    {
        using var stream = typeof(ClusterPageApi).Assembly.GetManifestResourceStream(PageResource)
            ?? throw new InvalidOperationException($"The Router assembly has no resource {PageResource}: see its project file.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static async Task WritePageAsync(HttpResponse response, byte[] page)
    {
        response.ContentType = "text/html; charset=utf-8";
        response.ContentLength = page.Length;
        response.Headers.CacheControl = "no-cache";
        response.Headers.ContentSecurityPolicy = PagePolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        await response.Body.WriteAsync(page);
    }

    private static async Task WriteStateAsync(HttpResponse response, ViewTracker views, NodeStatusReader reader, Reconciliation.ClusterReconciler? reconciler)
    {
        var map = views.Current;
        var observations = await reader.ObserveAsync(map);
        var picture = ClusterPictureBuilder.Build(map.View, views.HighestEpoch, observations) with { Reconciler = reconciler?.Report };
        response.Headers.CacheControl = "no-store";
        await JsonResponses.WriteAsync(response, StatusCodes.Status200OK,
            JsonSerializer.SerializeToUtf8Bytes(picture, ClusterPageJsonContext.Default.ClusterPicture));
    }
}
