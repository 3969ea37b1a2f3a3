namespace CausalKv.AppHost.Telemetry;

/// <summary>One row of the trace list: the trace's extent, its root, and the spans that made it match the filter.</summary>
internal sealed record TraceSummary(
    string TraceId,
    double StartMs,
    double DurationMs,
    string RootResource,
    string RootName,
    int SpanCount,
    int ErrorCount,
    IReadOnlyList<string> Resources,
    IReadOnlyList<MatchedSpan> Matched);

internal sealed record MatchedSpan(string SpanId, string Resource, string Name, double DurationMs, IReadOnlyList<TelemetryAttribute> Attributes);
