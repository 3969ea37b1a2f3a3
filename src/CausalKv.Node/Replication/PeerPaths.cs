namespace CausalKv.Node.Replication;

/// <summary>Where each node-to-node message is posted; the one list the senders, the HTTP endpoints and other carriers share.</summary>
public static class PeerPaths
{
    public const string Gossip = "/internal/gossip";
    public const string Replicate = "/internal/replicate";
    public const string Frontier = "/internal/frontier";
    public const string Handoff = "/internal/handoff";
}
