namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// Which traces the Traces page lists: those holding at least one span that
/// passes every filter given (service, span name, minimum duration, errors).
/// </summary>
internal sealed record TraceQuery(
    string? Resource = null,
    string? SpanName = null,
    double MinDurationMs = 0,
    bool ErrorsOnly = false,
    string? Text = null,
    int Limit = 100)
{
    public bool Matches(StoredSpan span, string resourceName)
    {
        if (!string.IsNullOrEmpty(Resource) && Resource != resourceName && Resource != span.Resource.Key) return false;
        if (!string.IsNullOrEmpty(SpanName) && !span.Name.Contains(SpanName, StringComparison.OrdinalIgnoreCase)) return false;
        if (span.DurationMs < MinDurationMs) return false;
        if (ErrorsOnly && !span.IsError) return false;
        if (!string.IsNullOrEmpty(Text) && !span.Attributes.Any(a =>
                a.Key.Contains(Text, StringComparison.OrdinalIgnoreCase) || a.Value.Contains(Text, StringComparison.OrdinalIgnoreCase)))
            return false;
        return true;
    }
}
