namespace CausalKv.Node.Faults;

/// <summary>
/// The set of nodes this node pretends it cannot reach. A cut drops traffic
/// both ways, like a lost link: outgoing requests hang until their connect
/// timeout, incoming requests from a cut node are never answered.
/// </summary>
public sealed class FaultInjector
{
    private volatile IReadOnlySet<int> _blocked = new HashSet<int>();

    public FaultInjector(bool enabled) => Enabled = enabled;

    public bool Enabled { get; }

    public IReadOnlySet<int> Blocked => _blocked;

    public bool IsBlocked(int nodeId) => _blocked.Contains(nodeId);

    public void SetBlocked(IEnumerable<int> nodes) => _blocked = new HashSet<int>(nodes);
}
