namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// One export's worth of an instrument from one resource, summed over its
/// attribute sets. For counters and histograms the numbers are what happened in
/// the interval ending at <see cref="TimeMs"/> (cumulative exports are turned
/// into differences), so every point stands on its own on a chart.
/// </summary>
/// <param name="Value">gauges: the value; counters: the increase; histograms: the sum of values recorded</param>
/// <param name="Count">histograms: values recorded in the interval</param>
/// <param name="Buckets">histograms with explicit bounds: counts per bucket in the interval</param>
internal sealed record MetricPoint(double TimeMs, double IntervalSeconds, double Value, ulong Count, IReadOnlyList<double>? Bounds, double[]? Buckets);
