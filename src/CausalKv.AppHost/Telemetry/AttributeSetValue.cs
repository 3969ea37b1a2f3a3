namespace CausalKv.AppHost.Telemetry;

/// <summary>The latest value of one attribute set of an instrument (the Metrics page's table), as exported.</summary>
internal sealed record AttributeSetValue(IReadOnlyList<TelemetryAttribute> Attributes, double TimeMs, double Value, ulong Count, double? Min, double? Max);
