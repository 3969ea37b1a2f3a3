namespace CausalKv.Tests.Simulation;

/// <summary>
/// A node's clock in the simulation: its wall clock is the simulated time of the run plus a skew of this node, and
/// its timers (every delay, periodic timer and timeout of the node's code) are events of the simulation's queue, run
/// as the life of the node that set them. It only moves when the simulation moves it, so a run reads the same clock
/// values and fires the same timers every time it is replayed.
/// </summary>
internal sealed class SimulatedClock(Func<long> simulatedMilliseconds, long skewMilliseconds, SimulatedNetwork? network = null) : TimeProvider
{
    /// <summary>The node's offset from simulated time; a step back models a wall clock set back (NTP, a migrated VM).</summary>
    public long Skew { get; set; } = skewMilliseconds;

    /// <summary>Where simulated time zero lies: a date after the epoch of origin incarnations (milliseconds since 2025).</summary>
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The life of the node whose timers are being set now.</summary>
    public SimulatedScheduler? Scheduler { get; set; }

    public override DateTimeOffset GetUtcNow() => Start.AddMilliseconds(simulatedMilliseconds() + Skew);

    public override long GetTimestamp() => (simulatedMilliseconds() + Skew) * TimeSpan.TicksPerMillisecond;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new Timer(network ?? throw new InvalidOperationException("This clock has no timers."), SynchronizationContext.Current as SimulatedScheduler ?? Scheduler ?? throw new InvalidOperationException("A timer set outside a node's life."), callback, state, dueTime, period);

    /// <summary>Whole simulated milliseconds, rounded up: a timer never fires early.</summary>
    public static long Milliseconds(TimeSpan span) => span <= TimeSpan.Zero ? 0 : (long)Math.Ceiling(span.TotalMilliseconds);

    private sealed class Timer : ITimer
    {
        private readonly SimulatedNetwork _network;
        private readonly SimulatedScheduler _scheduler;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private TimeSpan _period;
        private long _version;
        private bool _disposed;

        public Timer(SimulatedNetwork network, SimulatedScheduler scheduler, TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            (_network, _scheduler, _callback, _state) = (network, scheduler, callback, state);
            Change(dueTime, period);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed) return false;
            _version++;
            _period = period;
            Arm(dueTime);
            return true;
        }

        private void Arm(TimeSpan due)
        {
            if (due == global::System.Threading.Timeout.InfiniteTimeSpan) return;
            var version = _version;
            _network.After(Milliseconds(due), () =>
            {
                if (_disposed || version != _version || _scheduler.Stopped) return;
                if (_period > TimeSpan.Zero && _period != global::System.Threading.Timeout.InfiniteTimeSpan) Arm(_period);
                _scheduler.Run(() => _callback(_state));
            });
        }

        public void Dispose()
        {
            _disposed = true;
            _version++;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
