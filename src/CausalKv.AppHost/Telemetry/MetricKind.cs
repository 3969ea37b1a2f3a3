namespace CausalKv.AppHost.Telemetry;

/// <summary>What an instrument's points mean, which decides how the Metrics page charts them.</summary>
internal enum MetricKind
{
    /// <summary>A value read at export time (OTLP gauge): charted as is.</summary>
    Gauge,
    /// <summary>A monotonic sum: charted as a rate (its increase per second).</summary>
    Counter,
    /// <summary>A non-monotonic sum: charted as is.</summary>
    UpDownCounter,
    /// <summary>A distribution: charted as mean, percentiles or count per second over each export interval.</summary>
    Histogram,
}
