using CausalKv.AppHost.Orchestration;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// The application the dashboard shows and commands. It is attached after the
/// dashboard is built (the app needs the dashboard's OTLP endpoint first), so
/// handlers ask for it per request and answer 503 while there is none.
/// </summary>
internal sealed class AttachedApp
{
    private CausalKvApp? _app;

    public CausalKvApp? App
    {
        get => Volatile.Read(ref _app);
        set => Volatile.Write(ref _app, value);
    }

    public static IResult NotAttached() =>
        Results.Json(new { error = "No application is attached to the dashboard yet." }, statusCode: StatusCodes.Status503ServiceUnavailable);
}
