using CausalKv.Sharding;

namespace CausalKv.Router.Cluster;

/// <summary>
/// Turns the nodes' statuses into the cluster picture. Pure and deterministic: the same view and observations give the
/// same picture whatever order the observations came in (shards in view order, replicas in view order, peers, cuts
/// and frontier entries sorted). Invariants: every node of the view appears exactly once, answered or not; a peer's
/// "missing" count never goes below zero (a peer ahead of a replica is missing nothing from it); a cut link appears
/// once per pair however many ends report it.
/// </summary>
internal static class ClusterPictureBuilder
{
    private static readonly Dictionary<string, long> NoFrontier = [];

    public static ClusterPicture Build(ShardView? view, long highestEpoch, IEnumerable<NodeObservation> observations)
    {
        var byId = new Dictionary<int, NodeObservation>();
        foreach (var observation in observations) byId[observation.Node.Id] = observation;
        if (view is null)
        {
            return new ClusterPicture(0, highestEpoch, 0, 0, [], Cuts(byId.Values));
        }
        var shards = view.ShardNames.Select(name =>
        {
            var nodes = view.NodesOf(name);
            var replicas = nodes.Select(node => Replica(
                byId.GetValueOrDefault(node.Id) ?? new NodeObservation(node, false, false, null, "not asked"),
                view.Epoch, nodes, byId)).ToArray();
            return new ShardPicture(name, replicas.Max(r => (long?)r.Keys) ?? 0, replicas);
        }).ToArray();
        var inView = byId.Values.Where(o => view.Contains(o.Node.Id));
        return new ClusterPicture(view.Epoch, Math.Max(highestEpoch, view.Epoch), view.AllNodes.Count,
            shards.Sum(s => s.Keys), shards, Cuts(inView));
    }

    /// <summary>Per origin, how many writes <paramref name="mine"/> holds that <paramref name="theirs"/> does not; origins with none are left out.</summary>
    public static Dictionary<string, long> Missing(IReadOnlyDictionary<string, long> mine, IReadOnlyDictionary<string, long> theirs)
    {
        var missing = new Dictionary<string, long>();
        foreach (var origin in Ordered(mine.Keys))
        {
            var gap = mine[origin] - theirs.GetValueOrDefault(origin);
            if (gap > 0) missing.Add(origin, gap);
        }
        return missing;
    }

    private static ReplicaPicture Replica(NodeObservation observation, long viewEpoch, IReadOnlyList<ViewNode> shardNodes,
        IReadOnlyDictionary<int, NodeObservation> byId)
    {
        var node = observation.Node;
        if (observation.Status is not { } status)
        {
            return new ReplicaPicture(node.Id, node.Address, false, observation.Error, observation.Healthy, observation.Routable,
                null, null, null, null, null, null, null, [], NoFrontier, NoFrontier, [], null, []);
        }
        var applied = status.Applied ?? NoFrontier;
        var reported = (status.Peers ?? []).GroupBy(p => p.Id).ToDictionary(g => g.Key, g => g.First());
        var peerIds = reported.Keys.Concat(shardNodes.Select(n => n.Id)).Where(id => id != node.Id).Distinct().Order();
        var peers = peerIds.Select(id =>
        {
            var link = reported.GetValueOrDefault(id);
            var live = byId.GetValueOrDefault(id)?.Status;
            // The peer's own report is fresher than what the link learned a gossip round ago, and it is what a cut link hides.
            var theirs = live?.Applied ?? link?.Applied;
            var missing = theirs is null ? null : Missing(applied, theirs);
            return new PeerLinkPicture(id, link?.Address ?? shardNodes.FirstOrDefault(n => n.Id == id)?.Address,
                link is not null, link?.Reachable, link?.LastContact, live?.Applied is not null, missing, missing?.Values.Sum());
        }).ToArray();
        return new ReplicaPicture(node.Id, node.Address, true, null, observation.Healthy, observation.Routable,
            status.Shard, status.Keys, status.Epoch, status.Epoch >= viewEpoch, status.Origin, IncarnationOf(status.Origin),
            status.CaughtUp, [.. (status.HandoffPendingFrom ?? []).Order(StringComparer.Ordinal)],
            Sorted(applied), Sorted(status.Stable ?? NoFrontier), [.. (status.Blocked ?? []).Distinct().Order()],
            status.LogEntries, peers);
    }

    /// <summary>Blocked lists and unreachable links, folded into one entry per pair of nodes.</summary>
    private static CutLink[] Cuts(IEnumerable<NodeObservation> observations)
    {
        var blocked = new SortedDictionary<(int A, int B), SortedSet<int>>();
        var unreachable = new SortedDictionary<(int A, int B), SortedSet<int>>();
        foreach (var observation in observations)
        {
            if (observation.Status is not { } status) continue;
            var self = observation.Node.Id;
            foreach (var other in status.Blocked ?? []) Note(blocked, self, other);
            foreach (var peer in status.Peers ?? []) if (!peer.Reachable) Note(unreachable, self, peer.Id);
        }
        return [.. blocked.Keys.Union(unreachable.Keys).Order().Select(pair => new CutLink(pair.A, pair.B,
            [.. blocked.GetValueOrDefault(pair) ?? []], [.. unreachable.GetValueOrDefault(pair) ?? []]))];
    }

    private static void Note(SortedDictionary<(int A, int B), SortedSet<int>> pairs, int self, int other)
    {
        if (self == other) return;
        var pair = (Math.Min(self, other), Math.Max(self, other));
        if (!pairs.TryGetValue(pair, out var ends)) pairs[pair] = ends = [];
        ends.Add(self);
    }

    private static Dictionary<string, long> Sorted(IReadOnlyDictionary<string, long> frontier) =>
        Ordered(frontier.Keys).ToDictionary(origin => origin, origin => frontier[origin]);

    /// <summary>Origins by node, then incarnation, as numbers ("2.5" before "10.1"); names that are not <c>node.incarnation</c> last.</summary>
    private static IEnumerable<string> Ordered(IEnumerable<string> origins) =>
        origins.Select(o => (Origin: o, Parsed: Parse(o)))
            .OrderBy(o => o.Parsed is null).ThenBy(o => o.Parsed?.Node).ThenBy(o => o.Parsed?.Incarnation)
            .ThenBy(o => o.Origin, StringComparer.Ordinal).Select(o => o.Origin);

    private static long? IncarnationOf(string? origin) => origin is null ? null : Parse(origin)?.Incarnation;

    private static (long Node, long Incarnation)? Parse(string origin)
    {
        var dot = origin.IndexOf('.');
        return dot > 0 && long.TryParse(origin.AsSpan(0, dot), out var node) && long.TryParse(origin.AsSpan(dot + 1), out var incarnation)
            ? (node, incarnation)
            : null;
    }
}
