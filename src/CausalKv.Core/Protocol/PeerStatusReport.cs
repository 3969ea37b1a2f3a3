namespace CausalKv.Protocol;

/// <summary>One replication link of a node, as its <c>GET /admin/status</c> reports it (<see cref="NodeStatusReport.Peers"/>).</summary>
/// <param name="Reachable">False until the peer first answered, and after a push or gossip round to it failed.</param>
/// <param name="Applied">The peer's applied frontier as the node last learned it from the peer (it may lag by a gossip round).</param>
public sealed record PeerStatusReport(int Id, string? Address, bool Reachable, DateTimeOffset? LastContact,
    Dictionary<string, long>? Applied, long BatchesSent, long WritesSent, long GossipRounds, long GossipBytes, long ReplicationBytes);
