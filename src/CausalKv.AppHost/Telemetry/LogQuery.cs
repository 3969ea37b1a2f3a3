namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// A search over structured logs: every word of <see cref="Text"/> must occur
/// (case-insensitively) in the message, category, resource or an attribute.
/// </summary>
internal sealed record LogQuery(string? Text = null, string? Resource = null, int MinSeverity = 0, string? TraceId = null, int Limit = 200)
{
    private readonly string[] _words = (Text ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public bool Matches(StoredLog log, string resourceName)
    {
        if (!string.IsNullOrEmpty(Resource) && Resource != resourceName && Resource != log.Resource.Key) return false;
        if (log.SeverityNumber < MinSeverity) return false;
        if (!string.IsNullOrEmpty(TraceId) && !string.Equals(TraceId, log.TraceId, StringComparison.OrdinalIgnoreCase)) return false;
        foreach (var word in _words)
        {
            if (log.Message.Contains(word, StringComparison.OrdinalIgnoreCase)) continue;
            if (log.Category.Contains(word, StringComparison.OrdinalIgnoreCase)) continue;
            if (resourceName.Contains(word, StringComparison.OrdinalIgnoreCase)) continue;
            if (log.Severity.Contains(word, StringComparison.OrdinalIgnoreCase)) continue;
            if (log.Attributes.Any(a => a.Value.Contains(word, StringComparison.OrdinalIgnoreCase) || a.Key.Contains(word, StringComparison.OrdinalIgnoreCase))) continue;
            return false;
        }
        return true;
    }
}
