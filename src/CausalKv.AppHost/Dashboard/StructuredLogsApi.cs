using CausalKv.AppHost.Telemetry;

namespace CausalKv.AppHost.Dashboard;

/// <summary>Structured logs (OTLP): search by text, resource, minimum severity and trace, newest first.</summary>
internal static class StructuredLogsApi
{
    public static IEndpointRouteBuilder MapStructuredLogsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/logs", (string? q, string? resource, int? level, string? trace, int? limit, TelemetryStore store) =>
        {
            var query = new LogQuery(q, resource, level ?? 0, trace, Math.Clamp(limit ?? 200, 1, 2000));
            return Results.Json(store.Logs.Query(query).Select(l => new
            {
                timeMs = l.TimeNanos / 1e6,
                resource = store.NameOf(l.Resource),
                l.Severity,
                l.SeverityNumber,
                l.Category,
                l.Message,
                l.Attributes,
                l.TraceId,
                l.SpanId,
            }));
        });

        app.MapGet("/api/telemetry/resources", (TelemetryStore store) =>
            Results.Json(store.Resources.Select(r => new
            {
                name = store.NameOf(r),
                r.Key,
                r.ServiceName,
                r.InstanceId,
                spans = store.Spans.CountFor(r.Key),
                logs = store.Logs.CountFor(r.Key),
                instruments = store.Metrics.CountFor(r.Key),
                r.Attributes,
            })));
        return app;
    }
}
