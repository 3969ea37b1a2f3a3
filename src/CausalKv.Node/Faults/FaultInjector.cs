using CausalKv.Node.Telemetry;

namespace CausalKv.Node.Faults;

/// <summary>
/// The set of nodes this node pretends it cannot reach. A cut drops traffic
/// both ways, like a lost link: outgoing requests hang until their connect
/// timeout, incoming requests from a cut node are never answered.
/// Every change is logged with the links it cut and healed, so what a test or
/// a demo did to the cluster can be read next to what the cluster did.
/// </summary>
public sealed class FaultInjector(bool enabled, ILogger<FaultInjector> log)
{
    private readonly Lock _gate = new();
    private volatile IReadOnlySet<int> _blocked = new HashSet<int>();

    public bool Enabled { get; } = enabled;

    public IReadOnlySet<int> Blocked => _blocked;

    public bool IsBlocked(int nodeId) => _blocked.Contains(nodeId);

    public void SetBlocked(IEnumerable<int> nodes)
    {
        var next = new HashSet<int>(nodes);
        IReadOnlySet<int> previous;
        // Serialised so that two changes racing each other log the differences they really made.
        lock (_gate)
        {
            previous = _blocked;
            _blocked = next;
        }
        var cut = next.Where(id => !previous.Contains(id)).Order().ToArray();
        var healed = previous.Where(id => !next.Contains(id)).Order().ToArray();
        var now = next.Count == 0 ? "no node" : string.Join(", ", next.Order());
        if (cut.Length > 0) NodeLog.LinksCut(log, string.Join(", ", cut), now);
        if (healed.Length > 0) NodeLog.LinksHealed(log, string.Join(", ", healed), now);
    }
}
