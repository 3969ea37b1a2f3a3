namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// How much telemetry the AppHost keeps in memory. The defaults are Aspire
/// dashboard's (10,000 logs and spans per resource); older items are dropped
/// first, so a long-running cluster costs bounded memory.
/// </summary>
internal sealed class TelemetryLimits
{
    public int MaxSpansPerResource { get; init; } = 10_000;

    public int MaxLogsPerResource { get; init; } = 10_000;

    /// <summary>Aggregated points kept per instrument and resource: ten minutes at the services' one export a second.</summary>
    public int MaxPointsPerSeries { get; init; } = 600;

    public int MaxInstrumentsPerResource { get; init; } = 300;

    /// <summary>Distinct attribute sets tracked per instrument and resource; points of further sets are not kept.</summary>
    public int MaxAttributeSetsPerInstrument { get; init; } = 200;

    /// <summary>Resources tracked at all: a misbehaving sender inventing instance ids cannot grow memory without end.</summary>
    public int MaxResources { get; init; } = 200;

    internal void Validate()
    {
        if (MaxSpansPerResource < 1 || MaxLogsPerResource < 1 || MaxPointsPerSeries < 2
            || MaxInstrumentsPerResource < 1 || MaxAttributeSetsPerInstrument < 1 || MaxResources < 1)
            throw new ArgumentException("Telemetry limits must be positive (and at least two points per series, to draw a line).");
    }
}
