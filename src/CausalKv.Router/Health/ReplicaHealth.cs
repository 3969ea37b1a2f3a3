namespace CausalKv.Router.Health;

/// <summary>
/// Whether a replica may be chosen: active health (the last <c>GET /health</c> answered 200, or there was none yet)
/// and passive health (no failed forward in the last few seconds). Times are milliseconds of a monotonic clock,
/// passed in so that the rule can be tested without waiting.
/// </summary>
internal sealed class ReplicaHealth
{
    private volatile bool _probeHealthy = true;
    private long _penaltyUntilMs = long.MinValue;

    /// <summary>True when neither the last probe nor a recent failure rules the replica out.</summary>
    public bool IsAvailable(long nowMs) => _probeHealthy && nowMs >= Volatile.Read(ref _penaltyUntilMs);

    public bool ProbeHealthy => _probeHealthy;

    /// <summary>Records a probe; returns true when it turned a healthy replica unhealthy.</summary>
    public bool ReportProbe(bool healthy)
    {
        var was = _probeHealthy;
        _probeHealthy = healthy;
        return was && !healthy;
    }

    /// <summary>Rules the replica out until <paramref name="nowMs"/> + <paramref name="penalty"/>; returns true when it was available before.</summary>
    public bool ReportFailure(long nowMs, TimeSpan penalty)
    {
        var until = nowMs + (long)penalty.TotalMilliseconds;
        var previous = Interlocked.Exchange(ref _penaltyUntilMs, until);
        return previous <= nowMs;
    }
}
