namespace CausalKv.AppHost.Telemetry;

/// <summary>A log record as the Structured logs page shows it.</summary>
internal sealed record StoredLog(
    TelemetryResource Resource,
    string Category,
    ulong TimeNanos,
    int SeverityNumber,
    string Severity,
    string Message,
    IReadOnlyList<TelemetryAttribute> Attributes,
    string? TraceId,
    string? SpanId);
