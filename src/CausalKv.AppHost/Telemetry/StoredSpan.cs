namespace CausalKv.AppHost.Telemetry;

/// <summary>A span as the dashboard keeps it: ids in lower-case hex, times in Unix nanoseconds.</summary>
internal sealed record StoredSpan(
    TelemetryResource Resource,
    string Scope,
    string TraceId,
    string SpanId,
    string? ParentSpanId,
    string Name,
    string Kind,
    ulong StartNanos,
    ulong EndNanos,
    IReadOnlyList<TelemetryAttribute> Attributes,
    IReadOnlyList<SpanEvent> Events,
    IReadOnlyList<SpanLink> Links,
    SpanStatus Status,
    string? StatusMessage)
{
    public double DurationMs => EndNanos > StartNanos ? (EndNanos - StartNanos) / 1e6 : 0;

    public bool IsError => Status == SpanStatus.Error;
}

internal enum SpanStatus { Unset, Ok, Error }

internal sealed record SpanEvent(ulong TimeNanos, string Name, IReadOnlyList<TelemetryAttribute> Attributes);

internal sealed record SpanLink(string TraceId, string SpanId, IReadOnlyList<TelemetryAttribute> Attributes);
