namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// One OTLP data point, neutral of the wire format: <see cref="Value"/> is the
/// number (gauges, sums) or the sum of recorded values (histograms).
/// </summary>
internal sealed record MetricSample(
    IReadOnlyList<TelemetryAttribute> Attributes,
    ulong StartNanos,
    ulong TimeNanos,
    double Value,
    ulong Count = 0,
    IReadOnlyList<double>? Bounds = null,
    IReadOnlyList<ulong>? BucketCounts = null,
    double? Min = null,
    double? Max = null);

/// <summary>The data points of one instrument in one export from one resource.</summary>
internal sealed record MetricBatch(
    TelemetryResource Resource,
    string Scope,
    string Name,
    string Unit,
    string Description,
    MetricKind Kind,
    bool Cumulative,
    IReadOnlyList<MetricSample> Samples);
