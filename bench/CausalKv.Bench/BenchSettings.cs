using System.Globalization;

namespace CausalKv.Bench;

/// <summary>What every scenario reads from the environment, and the median its tables show.</summary>
internal static class BenchSettings
{
    /// <summary>A positive integer from the environment variable <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;

    /// <summary>Seconds per load run (BENCH_DURATION, default 8).</summary>
    public static TimeSpan Duration => TimeSpan.FromSeconds(Setting("BENCH_DURATION", 8));

    /// <summary>Interleaved passes over every point (BENCH_ROUNDS, default 3); tables show medians.</summary>
    public static int Rounds => Setting("BENCH_ROUNDS", 3);

    /// <summary>The median (the mean of the middle two for an even count); NaN for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
