namespace CausalKv.Sharding;

/// <summary>
/// What a reconciler remembers of nodes a view left out: each node of the view it followed before that is in none of
/// the views it follows since, with the epoch it left at, until it is seen holding that epoch or a later one. A
/// leaving node hands its keys off only when it installs a view without itself, and the shards that take them keep
/// their fences up until it reports; a view sent to it and lost would otherwise leave it out for good, since it is no
/// member and no node of the view in force, so nobody would ask it again (<see cref="ReconcileDecision"/> resends it).
/// A reconciler that never followed that view (it started later, or started again) learns such nodes from the nodes
/// whose fences still wait for them (<see cref="Seen"/>, <see cref="ProbedNode.Departed"/>), which keep them with
/// their address (<see cref="Carry"/>).
/// Invariant: a node of the view followed is never departed; a node is departed only after a view that left it out.
/// </summary>
public sealed class DepartedNodes
{
    private readonly SortedDictionary<int, (ViewNode Node, long Epoch)> _nodes = [];
    private ShardView? _followed;

    /// <summary>Departed nodes by id, with the address they were last known at.</summary>
    public IReadOnlyList<ViewNode> Nodes => [.. _nodes.Values.Select(d => d.Node)];

    /// <summary>The epoch <paramref name="id"/> left at, or null when it is not departed.</summary>
    public long? LeftAt(int id) => _nodes.TryGetValue(id, out var d) ? d.Epoch : null;

    /// <summary>
    /// The view in force is now <paramref name="view"/>: the nodes of the view followed before that it leaves out are
    /// departed (as of its epoch), and those it names are not. An older or the same view changes nothing.
    /// </summary>
    public void Follow(ShardView? view)
    {
        if (view is null || (_followed is not null && view.Epoch <= _followed.Epoch)) return;
        foreach (var node in _followed?.AllNodes ?? [])
            if (!view.Contains(node.Id) && !_nodes.ContainsKey(node.Id)) _nodes[node.Id] = (node, view.Epoch);
        foreach (var node in view.AllNodes) _nodes.Remove(node.Id);
        _followed = view;
    }

    /// <summary>
    /// Takes in a round's probes: each node's own list of departed nodes its fence still waits for
    /// (<see cref="ProbedNode.Departed"/>) is learnt, unless the view followed names them, and then the departed nodes
    /// the round saw holding the epoch they left at or a later one are forgotten: they handed their keys off. So a
    /// reconciler that never followed the view which left a node out (it started later, or started again) still asks
    /// that node, for as long as some node waits for its keys.
    /// </summary>
    public void Seen(IEnumerable<ProbedNode> probes)
    {
        var seen = probes.ToList();
        foreach (var d in seen.Where(p => p.AnsweredAsItself).SelectMany(p => p.Departed))
        {
            if (_followed?.Contains(d.Node.Id) == true) continue;
            if (!_nodes.TryGetValue(d.Node.Id, out var known) || d.LeftAt < known.Epoch) _nodes[d.Node.Id] = (d.Node, d.LeftAt);
        }
        foreach (var p in seen)
            if (p.AnsweredAsItself && _nodes.TryGetValue(p.Id, out var d) && p.Epoch >= d.Epoch) _nodes.Remove(p.Id);
    }

    /// <summary>
    /// What a node keeps of the nodes that left its views when it installs <paramref name="next"/> over
    /// <paramref name="previous"/>: those kept before and those <paramref name="next"/> leaves out of
    /// <paramref name="previous"/> (at <paramref name="next"/>'s epoch), less any <paramref name="next"/> names, and only
    /// while its fence (<paramref name="awaited"/>, <see cref="HandoffFenceState.Awaited"/>) waits for them; at most
    /// <see cref="MaxKept"/>, the most recent first.
    /// </summary>
    public static IReadOnlyList<DepartedNode> Carry(ShardView? previous, ShardView next, IEnumerable<DepartedNode> before, IReadOnlySet<int> awaited)
    {
        ArgumentNullException.ThrowIfNull(next);
        var left = (previous?.AllNodes ?? []).Where(n => !next.Contains(n.Id)).Select(n => new DepartedNode(n, next.Epoch));
        return [.. left.Concat(before)
            .Where(d => !next.Contains(d.Node.Id) && awaited.Contains(d.Node.Id))
            .DistinctBy(d => d.Node.Id)
            .Take(MaxKept)
            .OrderBy(d => d.Node.Id)];
    }

    /// <summary>The departed nodes of <paramref name="kept"/> that <paramref name="fence"/> still waits for: what <c>GET /view</c> reports.</summary>
    public static IReadOnlyList<DepartedNode> StillAwaited(IEnumerable<DepartedNode> kept, HandoffFenceState fence)
    {
        ArgumentNullException.ThrowIfNull(fence);
        var awaited = fence.Awaited;
        return [.. kept.Where(d => awaited.Contains(d.Node.Id))];
    }

    /// <summary>The most departed nodes a node keeps (a bound on <c>membership.json</c> and on <c>GET /view</c>).</summary>
    public const int MaxKept = 64;
}
