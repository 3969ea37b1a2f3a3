namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// Console logs: the lines a resource printed after a given line number (the
/// page polls with the last number it has, so it follows the output live), and
/// the whole kept output as a download.
/// </summary>
internal static class ConsoleApi
{
    private const int MaxLinesPerAnswer = 2000;

    public static IEndpointRouteBuilder MapConsoleApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/console/{name}", (string name, long? after, AttachedApp attached) =>
        {
            if (attached.App is not { } kv) return AttachedApp.NotAttached();
            var resource = kv.Resources.FirstOrDefault(r => r.Name == name);
            if (resource is null) return Results.NotFound(new { error = $"No resource '{name}'." });
            var lines = resource.Console.Since(after ?? 0);
            if (lines.Count > MaxLinesPerAnswer) lines = lines.Skip(lines.Count - MaxLinesPerAnswer).ToArray();
            return Results.Json(new
            {
                name,
                lines = lines.Select(l => new { n = l.Number, at = l.At.ToUnixTimeMilliseconds(), text = l.Text, err = l.IsError }),
            });
        });

        app.MapGet("/api/console/{name}/download", (string name, AttachedApp attached) =>
        {
            if (attached.App is not { } kv) return AttachedApp.NotAttached();
            var resource = kv.Resources.FirstOrDefault(r => r.Name == name);
            if (resource is null) return Results.NotFound(new { error = $"No resource '{name}'." });
            var text = string.Join('\n', resource.Console.Since(0).Select(l => $"{l.At:O} {(l.IsError ? "ERR" : "OUT")} {l.Text}"));
            return Results.File(System.Text.Encoding.UTF8.GetBytes(text + "\n"), "text/plain; charset=utf-8", $"{name}-console.log");
        });
        return app;
    }
}
