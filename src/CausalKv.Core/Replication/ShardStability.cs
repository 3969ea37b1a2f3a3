using CausalKv.Causality;

namespace CausalKv.Replication;

/// <summary>
/// What every replica of this node's shard holds, per origin: the decision behind pruning client metadata.
/// <see cref="Stable"/> is the pointwise minimum of the replicas' applied frontiers. Keys handed in from another
/// shard add the old shard's stable frontier (what every replica there held of the moved keys' writes) once every
/// replica here holds the import that brought them: from then on that frontier is "foreign" stable here too, and it
/// travels in gossip so every replica learns it. <see cref="Effective"/> is the stable frontier joined with it.
/// Invariant: a dependency covered by <see cref="Effective"/> is held by every replica of the shard.
/// Not thread-safe: its owner serialises calls.
/// </summary>
public sealed class ShardStability
{
    private static readonly IReadOnlyDictionary<long, long> None = new Dictionary<long, long>();
    private readonly Dictionary<long, long> _foreign = [];
    private readonly List<(long Origin, long Seq, IReadOnlyDictionary<long, long> SourceStable)> _imports = [];

    /// <summary>The writes every replica of the shard holds (the minimum of their frontiers).</summary>
    public IReadOnlyDictionary<long, long> Stable { get; private set; } = None;

    /// <summary><see cref="Stable"/> joined with what completed handoffs made stable here.</summary>
    public IReadOnlyDictionary<long, long> Effective { get; private set; } = None;

    /// <summary>
    /// This replica imported a handoff as its writes up to (<paramref name="origin"/>, <paramref name="seq"/>); once
    /// every replica holds them, every replica holds what <paramref name="sourceStable"/> names for the moved keys.
    /// </summary>
    public void RecordImport(long origin, long seq, IReadOnlyDictionary<long, long>? sourceStable)
    {
        if (sourceStable is null || sourceStable.Count == 0) return;
        _imports.Add((origin, seq, sourceStable));
    }

    /// <summary>A peer's foreign frontier, from gossip; true when it taught this replica anything (then recompute).</summary>
    public bool LearnForeign(IReadOnlyDictionary<long, long>? foreign)
    {
        if (foreign is null || foreign.Count == 0 || StableFrontier.Covers(_foreign, foreign)) return false;
        StableFrontier.JoinInto(_foreign, foreign);
        return true;
    }

    /// <summary>The foreign frontier to pass on in gossip, or null when there is none.</summary>
    public Dictionary<long, long>? ForeignSnapshot() => _foreign.Count == 0 ? null : new Dictionary<long, long>(_foreign);

    /// <summary>Recomputes both frontiers from this replica's applied frontier and what its peers last reported.</summary>
    public void Recompute(IReadOnlyList<IReadOnlyDictionary<long, long>> replicaFrontiers)
    {
        var stable = StableFrontier.Minimum(replicaFrontiers);
        Stable = stable;
        _imports.RemoveAll(i =>
        {
            if (stable.GetValueOrDefault(i.Origin) < i.Seq) return false;
            StableFrontier.JoinInto(_foreign, i.SourceStable);
            return true;
        });
        var effective = new Dictionary<long, long>(stable);
        StableFrontier.JoinInto(effective, _foreign);
        Effective = effective;
    }
}
