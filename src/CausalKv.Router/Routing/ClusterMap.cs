using CausalKv.Sharding;

namespace CausalKv.Router.Routing;

/// <summary>
/// What the router routes by: one view, its hash ring, and each shard's replicas. Immutable; a view change
/// swaps the whole map, so a request sees one consistent view per attempt round.
/// </summary>
internal sealed class ClusterMap
{
    private static readonly Replica[] NoReplicas = [];

    public static readonly ClusterMap Empty = new(null, new Dictionary<string, Replica[]>(StringComparer.Ordinal));

    private readonly IReadOnlyDictionary<string, Replica[]> _replicas;

    private ClusterMap(ShardView? view, IReadOnlyDictionary<string, Replica[]> replicas)
    {
        View = view;
        Ring = view?.CreateRing();
        _replicas = replicas;
        AllReplicas = view is null ? NoReplicas : [.. view.ShardNames.SelectMany(s => replicas[s])];
    }

    /// <summary>Builds the map of <paramref name="view"/>, taking each node's <see cref="Replica"/> from <paramref name="replicaFor"/> (so health and load survive a view change).</summary>
    public static ClusterMap For(ShardView view, Func<ViewNode, Replica> replicaFor)
    {
        ArgumentNullException.ThrowIfNull(view);
        var replicas = new Dictionary<string, Replica[]>(StringComparer.Ordinal);
        foreach (var shard in view.ShardNames)
        {
            replicas[shard] = [.. view.NodesOf(shard).Select(replicaFor)];
        }
        return new ClusterMap(view, replicas);
    }

    public ShardView? View { get; }

    public HashRing? Ring { get; }

    public long Epoch => View?.Epoch ?? 0;

    /// <summary>Every replica of the view, shard by shard.</summary>
    public IReadOnlyList<Replica> AllReplicas { get; }

    /// <summary>The shard owning <paramref name="key"/>; only valid when there is a view.</summary>
    public string ShardFor(string key) =>
        (Ring ?? throw new InvalidOperationException("There is no view to route by.")).ShardFor(key);

    /// <summary>The replicas of <paramref name="shard"/>, in view order; empty when the shard is not in the view.</summary>
    public IReadOnlyList<Replica> ReplicasOf(string shard) =>
        _replicas.TryGetValue(shard, out var replicas) ? replicas : NoReplicas;
}
