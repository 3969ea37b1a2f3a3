namespace CausalKv.Router.Cluster;

/// <summary>The JSON of <c>GET /cluster/state</c>: the view the router routes by, every replica's live state, and the cut links.</summary>
/// <param name="Epoch">Epoch of the view the router routes by (0 before it knows one).</param>
/// <param name="HighestEpoch">The highest epoch any node reported; above <paramref name="Epoch"/> while a view change is under way.</param>
/// <param name="Keys">Keys in the cluster: the sum over shards of each shard's fullest replica.</param>
internal sealed record ClusterPicture(long Epoch, long HighestEpoch, int Nodes, long Keys, ShardPicture[] Shards, CutLink[] Cuts)
{
    /// <summary>The reconciler's last round when the router reconciles a declared cluster; null otherwise.</summary>
    public Reconciliation.ReconcilerReport? Reconciler { get; init; }
}
