using CausalKv.Causality;
using CausalKv.Node.Replication;
using CausalKv.Paging;

namespace CausalKv.Node.Causality;

/// <summary>
/// "May this read answer now?" at this replica: each method names what the read still lacks, for a person to read,
/// or null when it may answer. A replica new to its shard lacks the state of its peers until it caught up; a key on
/// its way from its previous shard lacks its handoff; otherwise only a write the session depends on that could change
/// the answer (<see cref="CausalRead"/>) holds a read back. The data API's decisions (DataRequests) ask these, for the
/// node's HTTP endpoints and for a simulation of the node alike.
/// </summary>
public sealed class ReadGate(ReplicaStore store, ReplicationCoordinator replication, HandoffFence fence)
{
    public const string JoinedJustNow = "state of the shard's other replicas (this replica just joined)";

    /// <summary>A read of <paramref name="key"/> by a session that depends on <paramref name="deps"/>.</summary>
    public string? MissingFor(string key, DependencySet deps)
    {
        if (!replication.CaughtUp) return JoinedJustNow;
        // A key still on its way from its previous shard waits for it, also when a version is here: that is a copy
        // left from an earlier stay of the key in this shard, and the session may have dropped its dependency on a
        // later write (it was stable in the previous shard), so its own dependencies cannot tell.
        if (fence.IsPending(key)) return Handoff(key);
        var dep = CausalRead.Missing(key, deps, store.Get(key));
        return dep is null ? null : $"write {dep.Clock} to '{key}'";
    }

    /// <summary>Why this replica may not answer for its shard's keys yet (a listing): it just joined, or keys are on their way to it.</summary>
    public string? MissingForShard() =>
        !replication.CaughtUp ? JoinedJustNow : fence.AnyPending ? "handoff of keys from their previous shard" : null;

    /// <summary>
    /// The write the session depends on that this replica still lacks among the keys a page of <c>GET /data</c> covers
    /// (of those this node owns under <paramref name="membership"/>), judged by what the store holds now.
    /// </summary>
    public string? MissingInPage(DependencySet deps, Membership membership, ShardPage page)
    {
        var miss = CausalRead.MissingInShard(deps, k => membership.Owns(k) && page.Covers(k), store.Get);
        return miss is { } m ? $"write {m.Value.Clock} to '{m.Key}'" : null;
    }

    /// <summary>
    /// Whether this replica can tell that <paramref name="key"/> does not exist: not at a replica new to its shard
    /// before it caught up, nor for a key on its way from its previous shard before its handoff arrived. Only a DELETE
    /// of a key absent here asks; no write waits (its tag is above every tag the session observed, so it wins the
    /// tie-break against every write it follows, received here or not).
    /// </summary>
    public string? MissingForExistence(string key) =>
        !replication.CaughtUp ? JoinedJustNow : fence.IsPending(key) ? Handoff(key) : null;

    private static string Handoff(string key) => $"handoff of '{key}' from its previous shard";
}
