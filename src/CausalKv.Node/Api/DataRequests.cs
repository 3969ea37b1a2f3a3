using CausalKv.Causality;
using CausalKv.Node.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Api;

/// <summary>
/// What the data API decides for a read, a write or a delete of one key, apart from how the request travels: whether
/// this node waits for a newer view first, serves data at all, forwards the request to the shard that owns the key,
/// waits for what the session depends on (<see cref="ReadGate"/>), or answers, storing the write and carrying the
/// session's metadata on as the node prunes it. Each call decides under the view the node follows now and never
/// waits itself: a <see cref="DataDecision.Wait"/> is waited out by the caller, which then asks again. The HTTP
/// endpoints (<see cref="DataEndpoints"/>) and a simulation of the node run these same decisions.
/// </summary>
public sealed class DataRequests(ReplicaStore store, ClusterState cluster, ReplicationCoordinator replication, ReadGate gate, IOptions<NodeOptions> options)
{
    /// <summary>What an answer carries and a write stores drops what every replica of the key's shard holds, unless the node keeps it all.</summary>
    private readonly Func<string, Dependency, bool>? _stable = options.Value.PruneMetadata ? replication.IsStable : null;

    /// <summary>
    /// The view epoch a request forwarded under <paramref name="forwardedEpoch"/> waits for before it is decided, or null.
    /// A node on a newer view sent it: by this node's older one the key may belong to a shard that handed it off
    /// already, or to this node when it no longer does. It is answered under the newer view once that arrives.
    /// </summary>
    public long? ViewToAwait(long? forwardedEpoch)
    {
        if (forwardedEpoch is not { } sent || sent <= cluster.Current.Epoch) return null;
        cluster.ObserveEpoch(sent);
        return sent;
    }

    /// <summary>The 503 of a request whose view (<see cref="ViewToAwait"/>) did not arrive in time.</summary>
    public string BehindView(long sent) =>
        $"Node {cluster.NodeId} follows view epoch {cluster.Current.Epoch} and has not received epoch {sent} the request was forwarded under.";

    /// <summary>
    /// Why this node serves no data at all under <paramref name="membership"/>, or null when it does: it has no view yet,
    /// or is not in the one it follows. The reason marks the 503 apart from one at the causal-wait deadline, so
    /// forwarders try another replica.
    /// </summary>
    public (string Reason, string Error)? NotServing(Membership membership)
    {
        if (membership.InView) return null;
        return membership.View is null
            ? ("no-view", $"Node {cluster.NodeId} has no view yet: install one with PUT /view.")
            : ("not-in-view", $"Node {cluster.NodeId} is not in the current view (epoch {membership.Epoch}): send requests to a node of the view.");
    }

    /// <summary>A GET of <paramref name="key"/> by a session that depends on <paramref name="deps"/>.</summary>
    public DataDecision Read(string key, DependencySet deps)
    {
        while (true)
        {
            var membership = cluster.Current;
            var shard = membership.ShardFor(key);
            if (shard != membership.MyShard) return new DataDecision.Forward(membership, shard!);
            // A view installed meanwhile ends the wait: the key may have left this shard.
            string? Missing() => Moved(membership) ? null : gate.MissingFor(key, deps);
            if (Missing() is not null) return new DataDecision.Wait(membership, key, Missing);
            var version = store.Get(key);
            // Still the view the read was judged by once the version is read: the key was not handed off and removed
            // before (a handoff begins after its view is installed). Else the read is decided again under the new view.
            if (Moved(membership)) continue;
            if (version is null)
                return new DataDecision.Answer(membership, 404, null, Prune(deps), $"Key '{key}' does not exist.", null);
            var after = Prune(CausalRead.AfterObserving(deps, key, version));
            return version.IsDeleted
                ? new DataDecision.Answer(membership, 404, null, after, $"Key '{key}' does not exist (it was deleted).", version)
                : new DataDecision.Answer(membership, 200, version.Value, after, null, version);
        }
    }

    /// <summary>A PUT of <paramref name="value"/>: stored at once (a write never waits), 201 when it found no key and 200 when it replaced one.</summary>
    public DataDecision Write(string key, string value, DependencySet deps)
    {
        var membership = cluster.Current;
        var shard = membership.ShardFor(key)!;
        if (shard != membership.MyShard) return new DataDecision.Forward(membership, shard);
        // The version it replaced, read under the write's own lock: 201 or 200 says exactly what this write found.
        var stored = store.Write(key, value, deps, cluster.NodeId, _stable, out var previous, out var dot);
        var created = previous is null || previous.IsDeleted;
        return new DataDecision.Answer(membership, created ? 201 : 200, null, Prune(CausalRead.AfterWriting(deps, key, stored, dot)), null, stored);
    }

    /// <summary>
    /// A DELETE: stored at once where the key exists, or where the session saw it exist (its write may not have arrived
    /// yet); a 404 where it does not. Whether it exists is this replica's to tell, unless it may still lack the key's
    /// latest write through no fault of the session: it joined its shard just now, or the key is on its way from its
    /// previous shard (<see cref="ReadGate.MissingForExistence"/>). As a read would, the answer waits for those; the
    /// delete itself never waits (its tag is above every tag the session observed, so it wins the tie-break against
    /// every write it follows, received here or not).
    /// </summary>
    public DataDecision Delete(string key, DependencySet deps)
    {
        var membership = cluster.Current;
        var shard = membership.ShardFor(key)!;
        if (shard != membership.MyShard) return new DataDecision.Forward(membership, shard);
        var previous = store.Get(key);
        if ((previous is null || previous.IsDeleted) && deps[key] is null)
        {
            string? Missing() => gate.MissingForExistence(key);
            if (Missing() is not null) return new DataDecision.Wait(membership, key, Missing);
            return new DataDecision.Answer(membership, 404, null, Prune(previous is null ? deps : CausalRead.AfterObserving(deps, key, previous)),
                $"Key '{key}' does not exist.", previous);
        }
        var stored = store.Write(key, null, deps, cluster.NodeId, _stable, out _, out var dot);
        return new DataDecision.Answer(membership, 200, null, Prune(CausalRead.AfterWriting(deps, key, stored, dot)), null, stored);
    }

    /// <summary>The metadata an answer carries: without the dependencies every replica of their key's shard holds, as the node prunes.</summary>
    public DependencySet Prune(DependencySet deps) => _stable is { } stable ? deps.Prune(stable) : deps;

    private bool Moved(Membership membership) => !ReferenceEquals(cluster.Current, membership);
}
