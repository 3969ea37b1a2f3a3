namespace CausalKv.Protocol;

/// <summary>
/// A node's answer to <c>GET /admin/status</c>: the node writes it, and the router's cluster page, the hosting's
/// dashboard and <c>ckv status</c> read it. Collections are nullable for the readers: a node of another version may
/// leave one out, and what reads it must still show the rest.
/// </summary>
/// <param name="Origin">The origin the node writes as now: <c>node.incarnation</c>.</param>
/// <param name="Applied">Per origin (<c>node.incarnation</c>), the highest sequence number below which the node holds every write.</param>
/// <param name="Stable">Per origin, what every replica of the node's shard holds.</param>
/// <param name="Blocked">Nodes whose traffic this node drops (fault injection).</param>
public sealed record NodeStatusReport(int Node, string? Shard, long Epoch, long Keys, string? Origin,
    Dictionary<string, long>? Applied, Dictionary<string, long>? Stable, bool CaughtUp, string[]? HandoffPendingFrom,
    PeerStatusReport[]? Peers, int LogEntries, long PeerBytesSent, long PeerBytesReceived, int[]? Blocked, int Pid);
