using CausalKv.AppHost.Orchestration;

namespace CausalKv.AppHost.Dashboard;

/// <summary>The Resources page's API: each resource's state, health and process, and the stop/start/restart/kill commands.</summary>
internal static class ResourcesApi
{
    public static readonly string[] Commands = ["stop", "start", "restart", "kill"];

    public static IEndpointRouteBuilder MapResourcesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/resources", (AttachedApp attached) =>
            Results.Json((attached.App?.Resources ?? []).Select(Describe)));

        app.MapPost("/api/resources/{name}/{command}", async (string name, string command, AttachedApp attached) =>
        {
            if (attached.App is not { } kv) return AttachedApp.NotAttached();
            if (!kv.Resources.Any(r => r.Name == name)) return Results.NotFound(new { error = $"No resource '{name}'." });
            Func<Task>? work = command switch
            {
                "stop" => () => kv.StopResourceAsync(name),
                "start" => () => kv.StartResourceAsync(name),
                "restart" => () => kv.RestartResourceAsync(name),
                "kill" => () => kv.KillResourceAsync(name),
                _ => null,
            };
            if (work is null) return Results.BadRequest(new { error = $"Unknown command '{command}' ({string.Join(", ", Commands)})." });
            try
            {
                await work();
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or OperationCanceledException)
            {
                return Results.Json(new { error = $"{command} {name}: {e.Message}" }, statusCode: StatusCodes.Status409Conflict);
            }
            return Results.Ok(Describe(kv.GetResource(name)));
        });
        return app;
    }

    private static object Describe(ProjectResource r) => new
    {
        r.Name,
        r.Kind,
        State = r.State.ToString(),
        Health = r.Health.ToString(),
        r.HealthDescription,
        r.Pid,
        Endpoint = r.Endpoint.ToString().TrimEnd('/'),
        r.RestartCount,
        r.ExitCode,
        r.StartedAt,
        r.NodeId,
    };
}
