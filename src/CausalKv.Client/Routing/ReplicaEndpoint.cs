using CausalKv.Sharding;

namespace CausalKv.Client.Routing;

/// <summary>
/// One node of the view as the client sees it: where to send (<c>http://host:port</c>), how many of this client's
/// requests it has in flight, and until when it is tried only after its shard's other replicas (it failed to connect).
/// Kept across view changes while the node keeps its id and address.
/// </summary>
internal sealed class ReplicaEndpoint
{
    private int _outstanding;
    private long _penalizedUntilMs;

    public ReplicaEndpoint(ViewNode node)
    {
        Node = node;
        BaseUri = new Uri("http://" + node.Address + "/");
    }

    public ViewNode Node { get; }

    public Uri BaseUri { get; }

    public int Outstanding => Volatile.Read(ref _outstanding);

    public void Begin() => Interlocked.Increment(ref _outstanding);

    public void End() => Interlocked.Decrement(ref _outstanding);

    /// <summary>False from a connect failure until the penalty has passed.</summary>
    public bool IsAvailable(long nowMs) => nowMs >= Interlocked.Read(ref _penalizedUntilMs);

    public void FailedToConnect(long nowMs, TimeSpan penalty) =>
        Interlocked.Exchange(ref _penalizedUntilMs, nowMs + (long)penalty.TotalMilliseconds);

    public void Answered()
    {
        if (Interlocked.Read(ref _penalizedUntilMs) != 0) Interlocked.Exchange(ref _penalizedUntilMs, 0);
    }

    public override string ToString() => $"node {Node.Id} ({Node.Address})";
}
