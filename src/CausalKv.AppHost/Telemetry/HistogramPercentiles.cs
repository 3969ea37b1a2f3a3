namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// Estimates a percentile from explicit-bucket counts, as Aspire's dashboard
/// does: find the bucket holding the rank and interpolate linearly inside it.
/// The open first bucket is taken to start at zero (durations, sizes), the open
/// last bucket answers its lower bound (nothing better is known).
/// </summary>
internal static class HistogramPercentiles
{
    /// <param name="bounds">n ascending upper bounds</param>
    /// <param name="counts">n + 1 bucket counts</param>
    /// <param name="q">quantile in (0, 1]</param>
    public static double? Estimate(IReadOnlyList<double> bounds, IReadOnlyList<double> counts, double q)
    {
        if (counts.Count != bounds.Count + 1) return null;
        var total = counts.Sum();
        if (total <= 0) return null;
        var rank = q * total;
        double seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            if (counts[i] <= 0) continue;
            if (seen + counts[i] < rank) { seen += counts[i]; continue; }
            if (i == bounds.Count) return bounds.Count == 0 ? null : bounds[^1];
            var upper = bounds[i];
            var lower = i == 0 ? Math.Min(0, upper) : bounds[i - 1];
            return lower + (upper - lower) * ((rank - seen) / counts[i]);
        }
        return bounds.Count == 0 ? null : bounds[^1];
    }
}
