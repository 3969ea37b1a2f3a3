namespace CausalKv.Node.Replication;

/// <summary>
/// The pauses between pushes to a peer that does not answer: <see cref="First"/>, then twice the last one, up to
/// <see cref="Limit"/>; an answer (an acknowledged push, a gossip round either way) starts again from the first. A dead
/// peer costs its replica one failed push per pause, not one per write, and one that comes back is pushed to at once,
/// since gossip reaches it within an interval and ends the pause.
/// </summary>
public sealed class RetryBackoff(TimeSpan first, TimeSpan limit)
{
    private readonly object _gate = new();
    private TimeSpan _next = first;

    /// <summary>The node's pacing: 100 ms, doubling to 5 s.</summary>
    public static RetryBackoff ForPeer() => new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));

    public TimeSpan First { get; } = first;

    public TimeSpan Limit { get; } = limit;

    /// <summary>The pause to take after one more failure.</summary>
    public TimeSpan Next()
    {
        lock (_gate)
        {
            var pause = _next;
            _next = _next >= Limit / 2 ? Limit : _next * 2;
            return pause;
        }
    }

    public void Reset()
    {
        lock (_gate) _next = First;
    }
}
