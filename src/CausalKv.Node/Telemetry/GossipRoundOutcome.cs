using CausalKv.Causality;

namespace CausalKv.Node.Telemetry;

/// <summary>
/// What one gossip round found when the two frontiers were compared: how many writes the peer lacks (this node
/// pushes them next), how many this node lacks (the peer pushes them), or that the peer did not answer.
/// An in-sync pair gossips four times a second and finds nothing; only a round that moved data says something a
/// person watching traces wants to read, so only such a round is exported as a trace, and every round is counted.
/// </summary>
internal readonly record struct GossipRoundOutcome(long EntriesToSend, long EntriesToReceive, bool Unreachable)
{
    /// <summary>The peer could not be reached (or failed): nothing was exchanged.</summary>
    public static readonly GossipRoundOutcome Failed = new(0, 0, true);

    /// <summary>Compares this node's frontier with the one the peer answered with.</summary>
    public static GossipRoundOutcome Compare(Frontier ours, Frontier theirs) => new(ours.Beyond(theirs), theirs.Beyond(ours), false);

    /// <summary>True when the round found writes missing on either side, so replication moves them.</summary>
    public bool MovedData => EntriesToSend > 0 || EntriesToReceive > 0;

    /// <summary>The round in one word, for span and metric attributes.</summary>
    public string Name =>
        Unreachable ? "unreachable"
        : EntriesToSend > 0 ? "peer-behind"
        : EntriesToReceive > 0 ? "we-are-behind"
        : "in-sync";
}
