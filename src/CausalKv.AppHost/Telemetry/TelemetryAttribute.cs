namespace CausalKv.AppHost.Telemetry;

/// <summary>One attribute of a span, event, link, log record or resource, its value rendered as the dashboard shows it.</summary>
internal sealed record TelemetryAttribute(string Key, string Value);
