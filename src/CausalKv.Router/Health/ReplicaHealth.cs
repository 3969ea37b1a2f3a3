namespace CausalKv.Router.Health;

/// <summary>
/// Whether a replica may be chosen: active health (the last <c>GET /health</c> answered 200, or there was none yet)
/// and passive health (no failed forward in the last few seconds). Times are milliseconds of a monotonic clock,
/// passed in so that the rule can be tested without waiting. Separately it tracks silence (probes that got no answer
/// at all, not even a refusal): a replica silent for long enough is taken to be cut off, and the requests in flight to
/// it are given up. One slow probe is not enough: on a loaded machine a healthy node can take a second to answer, and
/// giving up its requests would fail writes it is applying.
/// </summary>
internal sealed class ReplicaHealth
{
    private volatile bool _probeHealthy = true;
    private long _penaltyUntilMs = long.MinValue;
    private long _silentSinceMs = long.MinValue;
    private bool _cutReported;
    private readonly Lock _silence = new();

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

    /// <summary>Records that the replica answered a probe (whatever it said) or refused the connection: it is not silent.</summary>
    public void ReportHeard()
    {
        lock (_silence)
        {
            _silentSinceMs = long.MinValue;
            _cutReported = false;
        }
    }

    /// <summary>
    /// Records a probe that got no answer within its timeout; returns true, once per silence, when the replica has been
    /// silent for at least <paramref name="cutAfter"/> since the first unanswered probe.
    /// </summary>
    public bool ReportSilence(long nowMs, TimeSpan cutAfter)
    {
        lock (_silence)
        {
            if (_silentSinceMs == long.MinValue) _silentSinceMs = nowMs;
            if (_cutReported || nowMs - _silentSinceMs < (long)cutAfter.TotalMilliseconds) return false;
            _cutReported = true;
            return true;
        }
    }
}
