using CausalKv.Router.Health;
using CausalKv.Sharding;

namespace CausalKv.Router.Routing;

/// <summary>
/// One node of the view as the router sees it: where to send (<c>http://host:port</c>), how many requests it has
/// in flight (for power-of-two-choices) and its health. Kept across view changes while its id and address stay.
/// </summary>
internal sealed class Replica
{
    private int _outstanding;
    private CancellationTokenSource _cut = new();

    public Replica(ViewNode node)
    {
        Node = node;
        BaseUrl = "http://" + node.Address;
    }

    public ViewNode Node { get; }

    public int Id => Node.Id;

    public string Address => Node.Address;

    /// <summary>The destination prefix requests are forwarded to, e.g. <c>http://127.0.0.20:8081</c>.</summary>
    public string BaseUrl { get; }

    public ReplicaHealth Health { get; } = new();

    /// <summary>Requests sent to this replica that have not finished.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public void Begin() => Interlocked.Increment(ref _outstanding);

    public void End() => Interlocked.Decrement(ref _outstanding);

    /// <summary>Cancelled when the replica stops answering altogether: requests in flight to it give up rather than hang.</summary>
    public CancellationToken CutToken => Volatile.Read(ref _cut).Token;

    /// <summary>
    /// Cancels every request in flight to this replica. A cut link drops packets, so a request sent just before the
    /// cut would otherwise hang until the forward's activity timeout.
    /// </summary>
    public void CutInFlight() => Interlocked.Exchange(ref _cut, new CancellationTokenSource()).Cancel();

    public override string ToString() => $"node {Id} ({Address})";
}
