using System.Collections.Frozen;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// The pages, script and styles, embedded in the AppHost assembly (Assets/):
/// plain HTML and JavaScript over the JSON APIs, no build step, nothing fetched
/// from outside, so the dashboard works offline.
/// </summary>
internal static class DashboardAssets
{
    /// <summary>Page routes and the asset each serves.</summary>
    public static readonly IReadOnlyDictionary<string, string> Pages = new Dictionary<string, string>
    {
        ["/"] = "resources.html",
        ["/console"] = "console.html",
        ["/structured-logs"] = "logs.html",
        ["/traces"] = "traces.html",
        ["/metrics"] = "metrics.html",
        ["/cluster"] = "cluster.html",
    };

    private static readonly FrozenDictionary<string, byte[]> Files = Load();

    private static FrozenDictionary<string, byte[]> Load()
    {
        const string prefix = "dashboard/";
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[prefix.Length..]] = copy.ToArray();
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public static IEndpointRouteBuilder MapDashboardPages(this IEndpointRouteBuilder app)
    {
        foreach (var (route, file) in Pages)
            app.MapGet(route, () => Serve(file));
        app.MapGet("/assets/{file}", (string file) => Serve(file));
        return app;
    }

    private static IResult Serve(string file)
    {
        if (!Files.TryGetValue(file, out var bytes)) return Results.NotFound();
        var type = Path.GetExtension(file) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            ".svg" => "image/svg+xml",
            _ => "application/octet-stream",
        };
        return Results.Bytes(bytes, type);
    }
}
