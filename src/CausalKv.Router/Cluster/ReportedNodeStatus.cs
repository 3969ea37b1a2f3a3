namespace CausalKv.Router.Cluster;

/// <summary>
/// A node's answer to <c>GET /admin/status</c>, as far as the cluster page uses it. The router shares no code with the
/// node, so this mirrors the node's status on the wire; collections are nullable because a node of another version
/// may leave one out, and the page must still show the rest.
/// </summary>
/// <param name="Applied">Per origin (<c>node.incarnation</c>), the highest sequence number below which the node holds every write.</param>
/// <param name="Stable">Per origin, what every replica of the node's shard holds.</param>
internal sealed record ReportedNodeStatus(
    int Node,
    string? Shard,
    long Epoch,
    int Keys,
    string? Origin,
    Dictionary<string, long>? Applied,
    Dictionary<string, long>? Stable,
    bool CaughtUp,
    string[]? HandoffPendingFrom,
    ReportedPeerStatus[]? Peers,
    int LogEntries,
    int[]? Blocked);
