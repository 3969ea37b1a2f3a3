using System.Net;
using System.Security.Cryptography;
using CausalKv.AppHost.Orchestration;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// The AppHost's dashboard: listens on loopback, asks for the browser token the
/// printed login URL carries before it shows anything or obeys a command.
/// </summary>
public sealed class DashboardHost : IAsyncDisposable
{
    public const string CookieName = "causalkv-dashboard";
    private readonly WebApplication _web;
    private CausalKvApp? _app;

    public DashboardHost(int port)
    {
        BrowserToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        OtlpApiKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        _web = builder.Build();
        Url = $"http://127.0.0.1:{port}";
        _web.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/login") || IsSignedIn(context.Request)) { await next(context); return; }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync("Open the login URL the AppHost printed (Dashboard: .../login?t=...).");
        });
        _web.MapGet("/login", (HttpContext context, string? t) =>
        {
            if (t is null || !CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(t), System.Text.Encoding.UTF8.GetBytes(BrowserToken)))
                return Results.Text("Wrong or missing token.", statusCode: StatusCodes.Status401Unauthorized);
            context.Response.Cookies.Append(CookieName, BrowserToken, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict });
            return Results.Redirect("/");
        });
        _web.MapGet("/", () => Results.Content(Pages.Resources, "text/html; charset=utf-8"));
        _web.MapGet("/api/resources", () => Results.Json(Resources()));
        _web.MapPost("/api/resources/{name}/{command}", async (string name, string command) =>
        {
            if (_app is null) return Results.NotFound();
            if (!_app.Resources.Any(r => r.Name == name)) return Results.NotFound(new { error = $"no resource '{name}'" });
            Task work = command switch
            {
                "stop" => _app.StopResourceAsync(name),
                "start" => _app.StartResourceAsync(name),
                "restart" => _app.RestartResourceAsync(name),
                "kill" => _app.KillResourceAsync(name),
                _ => Task.FromException(new ArgumentException(command)),
            };
            try { await work; }
            catch (ArgumentException) { return Results.BadRequest(new { error = $"unknown command '{command}' (stop, start, restart, kill)" }); }
            return Results.Ok(new { name, command });
        });
    }

    public string Url { get; }

    public string BrowserToken { get; }

    public string OtlpApiKey { get; }

    public string LoginUrl => $"{Url}/login?t={BrowserToken}";

    /// <summary>Where services send OTLP/HTTP; null until the dashboard takes telemetry in.</summary>
    public string? OtlpEndpoint => null;

    public void Attach(CausalKvApp app) => _app = app;

    public Task StartAsync() => _web.StartAsync();

    private bool IsSignedIn(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out var c) && c is not null
        && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(c), System.Text.Encoding.UTF8.GetBytes(BrowserToken));

    private object Resources() => (_app?.Resources ?? []).Select(r => new
    {
        r.Name, r.Kind, State = r.State.ToString(), Health = r.Health.ToString(), r.Pid,
        Endpoint = r.Endpoint.ToString(), r.RestartCount, r.ExitCode, r.StartedAt, r.NodeId,
    });

    public async ValueTask DisposeAsync() => await _web.DisposeAsync();
}
