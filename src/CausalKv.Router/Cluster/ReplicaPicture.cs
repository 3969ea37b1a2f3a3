namespace CausalKv.Router.Cluster;

/// <summary>
/// One replica: where it is, whether it answered and how the router judges its health, and, when it answered, its
/// state and causal context. Fields that come from the node's status are null (or empty) when it did not answer.
/// </summary>
/// <param name="Reachable">The node answered <c>GET /admin/status</c> in time.</param>
/// <param name="Shard">The shard the node itself says it serves (it may differ from the view's while a view change is under way).</param>
/// <param name="Epoch">The epoch of the view the node has installed.</param>
/// <param name="OnCurrentView">The node installed the view the router routes by, or a later one.</param>
/// <param name="Origin">The origin the node writes as now: <c>node.incarnation</c>.</param>
/// <param name="Applied">The applied frontier: per origin, every write up to this sequence number is held here.</param>
/// <param name="Stable">The stable frontier: per origin, what every replica of the shard holds.</param>
/// <param name="Blocked">Nodes whose traffic this node drops (fault injection).</param>
/// <param name="Peers">The node's replication links, and the view's other replicas of its shard it has no link to yet, by id.</param>
internal sealed record ReplicaPicture(
    int Id,
    string Address,
    bool Reachable,
    string? Error,
    bool Healthy,
    bool Routable,
    string? Shard,
    long? Keys,
    long? Epoch,
    bool? OnCurrentView,
    string? Origin,
    long? Incarnation,
    bool? CaughtUp,
    string[] HandoffPendingFrom,
    Dictionary<string, long> Applied,
    Dictionary<string, long> Stable,
    int[] Blocked,
    int? LogEntries,
    PeerLinkPicture[] Peers);
