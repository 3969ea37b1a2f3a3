using CausalKv.Sharding;

namespace CausalKv.Node.Replication;

/// <summary>One immutable snapshot of the cluster as this node sees it.</summary>
public sealed class Membership
{
    public Membership(int nodeId, ShardView? view, HashRing? ring)
    {
        NodeId = nodeId;
        View = view;
        Ring = ring;
        MyShard = view?.ShardOf(nodeId);
        Peers = MyShard is null ? [] : view!.NodesOf(MyShard).Where(n => n.Id != nodeId).ToArray();
        Self = MyShard is null ? null : view!.NodesOf(MyShard).First(n => n.Id == nodeId);
        EpochText = Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static Membership None(int nodeId) => new(nodeId, null, null);

    public int NodeId { get; }
    public ShardView? View { get; }
    public HashRing? Ring { get; }
    public string? MyShard { get; }
    public ViewNode? Self { get; }
    public IReadOnlyList<ViewNode> Peers { get; }
    public long Epoch => View?.Epoch ?? 0;

    /// <summary><see cref="Epoch"/> as every data answer's <c>X-CausalKv-Epoch</c> says it, formatted once per view.</summary>
    public string EpochText { get; }
    public bool InView => MyShard is not null;

    public string? ShardFor(string key) => Ring?.ShardFor(key);

    public bool Owns(string key) => MyShard is not null && Ring!.ShardFor(key) == MyShard;
}
