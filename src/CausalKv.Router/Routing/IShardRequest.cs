namespace CausalKv.Router.Routing;

/// <summary>One request that <see cref="ReplicaFailover"/> sends to whichever replica of its shard can take it.</summary>
internal interface IShardRequest
{
    /// <summary>The shard to send to under <paramref name="map"/> (asked again each round, so a view change is followed).</summary>
    string ShardOf(ClusterMap map);

    /// <summary>A read goes to the less loaded of two replicas, a write to one at random (see <see cref="CausalKv.Sharding.ReplicaChoice"/>).</summary>
    bool IsRead { get; }

    /// <summary>Sends to one replica; gives it up only when the replica cannot have seen the request (it could not be connected to, or a read may be repeated elsewhere).</summary>
    ValueTask<ReplicaAttempt> SendAsync(Replica replica, string shard);
}
