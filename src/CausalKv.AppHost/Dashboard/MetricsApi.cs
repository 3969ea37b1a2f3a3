using CausalKv.AppHost.Telemetry;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// Metrics: the instruments received (one entry per name, across resources),
/// and one instrument's points per resource, with the figures a chart needs
/// already derived (rate per second, histogram mean and percentiles).
/// </summary>
internal static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/metrics", (TelemetryStore store) =>
            Results.Json(store.Metrics.Snapshot()
                .GroupBy(s => s.Name)
                .Select(g => new
                {
                    name = g.Key,
                    g.First().Unit,
                    g.First().Description,
                    kind = g.First().Kind.ToString(),
                    g.First().Scope,
                    resources = g.Select(s => store.NameOf(s.Resource)).Order(StringComparer.Ordinal).ToArray(),
                })
                .OrderBy(i => i.Scope, StringComparer.Ordinal).ThenBy(i => i.name, StringComparer.Ordinal)));

        app.MapGet("/api/metrics/instrument", (string name, TelemetryStore store) =>
        {
            var series = store.Metrics.Snapshot(name);
            if (series.Count == 0) return Results.NotFound(new { error = $"No points of '{name}' received." });
            var first = series[0];
            return Results.Json(new
            {
                name,
                first.Unit,
                first.Description,
                kind = first.Kind.ToString(),
                series = series.OrderBy(s => store.NameOf(s.Resource), StringComparer.Ordinal).Select(s => new
                {
                    resource = store.NameOf(s.Resource),
                    points = s.Points.Select(p => Chartable(p, s.Kind)),
                }),
                latest = series.SelectMany(s => s.Latest.Select(l => new
                {
                    resource = store.NameOf(s.Resource),
                    l.Attributes,
                    l.TimeMs,
                    l.Value,
                    l.Count,
                    l.Min,
                    l.Max,
                })).OrderBy(l => l.resource, StringComparer.Ordinal),
            });
        });
        return app;
    }

    private static object Chartable(MetricPoint p, MetricKind kind)
    {
        double? PerSecond(double amount) => p.IntervalSeconds > 0 ? amount / p.IntervalSeconds : null;
        // One value in the interval (a causal wait is rare): every percentile is that value, known exactly from the sum.
        double? Percentile(double q) =>
            p.Count == 1 ? p.Value
            : p.Bounds is { } b && p.Buckets is { } c ? HistogramPercentiles.Estimate(b, c, q) : null;
        return kind switch
        {
            MetricKind.Counter => new { t = p.TimeMs, value = p.Value, rate = PerSecond(p.Value) },
            MetricKind.Histogram => (object)new
            {
                t = p.TimeMs,
                count = p.Count,
                rate = PerSecond(p.Count),
                mean = p.Count > 0 ? p.Value / p.Count : (double?)null,
                p50 = Percentile(0.5),
                p90 = Percentile(0.9),
                p99 = Percentile(0.99),
            },
            _ => new { t = p.TimeMs, value = p.Value },
        };
    }
}
