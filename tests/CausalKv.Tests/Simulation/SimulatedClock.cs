namespace CausalKv.Tests.Simulation;

/// <summary>
/// A node's wall clock in the simulation: the simulated time of the run plus a fixed skew of this node.
/// It only moves when the simulation moves it, so a run reads the same clock values every time it is replayed.
/// </summary>
internal sealed class SimulatedClock(Func<long> simulatedMilliseconds, long skewMilliseconds) : TimeProvider
{
    /// <summary>The node's offset from simulated time; a step back models a wall clock set back (NTP, a migrated VM).</summary>
    public long Skew { get; set; } = skewMilliseconds;

    /// <summary>Where simulated time zero lies: a date after the epoch of origin incarnations (milliseconds since 2025).</summary>
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Start.AddMilliseconds(simulatedMilliseconds() + Skew);

    public override long GetTimestamp() => (simulatedMilliseconds() + Skew) * TimeSpan.TicksPerMillisecond;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
}
