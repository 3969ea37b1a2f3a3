namespace CausalKv.Sharding;

/// <summary>
/// What a reconciler remembers of nodes a view left out: each node of the view it followed before that is in none of
/// the views it follows since, with the epoch it left at, until it is seen holding that epoch or a later one. A
/// leaving node hands its keys off only when it installs a view without itself, and the shards that take them keep
/// their fences up until it reports; a view sent to it and lost would otherwise leave it out for good, since it is no
/// member and no node of the view in force, so nobody would ask it again (<see cref="ReconcileDecision"/> resends it).
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

    /// <summary>Forgets the departed nodes a round saw holding the epoch they left at or a later one: they handed their keys off.</summary>
    public void Seen(IEnumerable<ProbedNode> probes)
    {
        foreach (var p in probes)
            if (p.AnsweredAsItself && _nodes.TryGetValue(p.Id, out var d) && p.Epoch >= d.Epoch) _nodes.Remove(p.Id);
    }
}
