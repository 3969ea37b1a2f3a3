namespace CausalKv.Router.Cluster;

/// <summary>One shard of the view and its replicas, in view order.</summary>
/// <param name="Keys">The fullest replica's key count: once converged, every replica holds all of the shard's keys.</param>
internal sealed record ShardPicture(string Name, long Keys, ReplicaPicture[] Replicas);
