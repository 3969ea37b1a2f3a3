namespace CausalKv.Router.Cluster;

/// <summary>
/// One replica's link to a peer, and what the peer is missing relative to it: per origin, how many of this replica's
/// applied writes the peer has not applied. Sequence numbers of an origin have no gaps, so the difference of two
/// frontiers is a count of writes.
/// </summary>
/// <param name="Linked">The replica reports a replication link to the peer (false while it has not installed a view naming the peer).</param>
/// <param name="Reachable">The replica's own verdict on the link; null without a link.</param>
/// <param name="PeerReported">
/// True when <paramref name="Missing"/> is against the peer's own report of its frontier (it answered the router);
/// false when against what this replica last learned of it.
/// </param>
/// <param name="Missing">Per origin, writes the peer lacks; null when neither the peer nor the link says what it holds.</param>
internal sealed record PeerLinkPicture(
    int Id,
    string? Address,
    bool Linked,
    bool? Reachable,
    DateTimeOffset? LastContact,
    bool PeerReported,
    Dictionary<string, long>? Missing,
    long? MissingTotal);
