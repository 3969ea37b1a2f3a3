using System.Security.Cryptography;
using System.Text;
using CausalKv.AppHost.Telemetry;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// Aspire's browser-token login: the URL the AppHost prints carries a token;
/// opening it sets an HttpOnly, SameSite=Strict cookie, and every page, data
/// API and control answers 401 without that cookie. SameSite=Strict is also what
/// keeps another site from driving the controls with the user's cookie. The OTLP
/// paths are the one exception: they check the services' API key instead.
/// </summary>
internal sealed class BrowserTokenGate(string token)
{
    public const string CookieName = "causalkv-dashboard";
    public const string LoginPath = "/login";

    public string Token { get; } = token;

    public bool IsSignedIn(HttpRequest request) =>
        request.Cookies.TryGetValue(CookieName, out var cookie) && cookie is not null && Matches(cookie);

    public bool Matches(string given) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(Token));

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        if (path.Equals(LoginPath, StringComparison.Ordinal) || OtlpReceiver.IsOtlpPath(path) || IsSignedIn(context.Request))
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        if (path.StartsWithSegments("/api"))
        {
            await context.Response.WriteAsJsonAsync(new { error = "Not signed in: open the dashboard's login URL first." });
            return;
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("Open the login URL the AppHost printed (Dashboard: .../login?t=...).");
    }

    public void MapLogin(IEndpointRouteBuilder app) =>
        app.MapGet(LoginPath, (HttpContext context, string? t, string? next) =>
        {
            if (t is null || !Matches(t))
                return Results.Text("Wrong or missing token.", statusCode: StatusCodes.Status401Unauthorized);
            context.Response.Cookies.Append(CookieName, Token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
            return Results.Redirect(IsLocalPath(next) ? next! : "/");
        });

    // Only a path on this dashboard: "//host" or "/\host" would send the signed-in browser elsewhere.
    private static bool IsLocalPath(string? path) =>
        path is { Length: > 0 } && path[0] == '/' && (path.Length == 1 || (path[1] != '/' && path[1] != '\\'));
}
