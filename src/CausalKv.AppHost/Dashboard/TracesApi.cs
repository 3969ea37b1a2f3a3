using System.Globalization;
using CausalKv.AppHost.Telemetry;

namespace CausalKv.AppHost.Dashboard;

/// <summary>Traces: the filtered trace list, and one trace's spans with every attribute, event and link (the waterfall).</summary>
internal static class TracesApi
{
    public static IEndpointRouteBuilder MapTracesApi(this IEndpointRouteBuilder app)
    {
        // Filters arrive as typed in a form: empty or malformed numbers mean "no filter", not a 400.
        app.MapGet("/api/traces", (string? resource, string? name, string? minMs, string? errors, string? text, string? limit, TelemetryStore store) =>
        {
            var query = new TraceQuery(resource, name,
                double.TryParse(minMs, NumberStyles.Float, CultureInfo.InvariantCulture, out var min) ? min : 0,
                bool.TryParse(errors, out var e) && e, text,
                Math.Clamp(int.TryParse(limit, out var l) ? l : 100, 1, 1000));
            return Results.Json(new { traces = store.Spans.Query(query), spans = store.Spans.Count });
        });

        app.MapGet("/api/traces/{traceId}", (string traceId, TelemetryStore store) =>
        {
            var spans = store.Spans.Trace(traceId);
            if (spans.Count == 0) return Results.NotFound(new { error = $"No spans of trace {traceId} are kept." });
            var start = spans.Min(s => s.StartNanos);
            return Results.Json(new
            {
                traceId = spans[0].TraceId,
                startMs = start / 1e6,
                durationMs = (spans.Max(s => s.EndNanos) - start) / 1e6,
                spans = spans.Select(s => new
                {
                    s.SpanId,
                    s.ParentSpanId,
                    resource = store.NameOf(s.Resource),
                    s.Scope,
                    s.Name,
                    s.Kind,
                    offsetMs = (s.StartNanos - start) / 1e6,
                    s.DurationMs,
                    status = s.Status.ToString(),
                    s.StatusMessage,
                    s.Attributes,
                    events = s.Events.Select(e => new { offsetMs = e.TimeNanos >= start ? (e.TimeNanos - start) / 1e6 : 0, e.Name, e.Attributes }),
                    links = s.Links.Select(l => store.Spans.Find(l.TraceId, l.SpanId) is { } target
                        ? new LinkView(l.TraceId, l.SpanId, l.Attributes, store.NameOf(target.Resource), target.Name)
                        : new LinkView(l.TraceId, l.SpanId, l.Attributes, null, null)),
                }),
            });
        });
        return app;
    }

    /// <summary>A link, with the linked span's resource and name when that span is kept.</summary>
    private sealed record LinkView(string TraceId, string SpanId, IReadOnlyList<TelemetryAttribute> Attributes, string? Resource, string? Name);
}
