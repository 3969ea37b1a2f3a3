using CausalKv.Causality;

namespace CausalKv.Replication;

/// <summary>
/// What every replica of this node's shard holds, per origin: the decision behind pruning client metadata.
/// <see cref="Stable"/> is the pointwise minimum of the replicas' applied frontiers. A node of another shard that
/// finished handing this shard every key it held for it adds its old shard's stable frontier (what every replica
/// there held, so what the handed-off versions carry), once every replica here holds every import of that handoff:
/// from then on that frontier is "foreign" stable here too, and it travels in gossip so every replica learns it.
/// <see cref="Effective"/> is the stable frontier joined with it.
/// Invariant: a dependency covered by <see cref="Effective"/> is held by every replica of the shard. It holds only
/// if a recorded import is a whole handoff (a part of one says nothing of the keys still to come) and its source
/// frontier is that of the shard the keys left, taken while the sender was a caught-up replica of it.
/// Not thread-safe: its owner serialises calls.
/// </summary>
public sealed class ShardStability
{
    private Frontier _foreign;
    private readonly List<(Frontier Requires, Frontier SourceStable)> _imports = [];

    /// <summary>The writes every replica of the shard holds (the minimum of their frontiers).</summary>
    public Frontier Stable { get; private set; }

    /// <summary><see cref="Stable"/> joined with what completed handoffs made stable here.</summary>
    public Frontier Effective { get; private set; }

    /// <summary>
    /// A whole handoff arrived, imported as the writes <paramref name="requires"/> names (on whichever replicas took
    /// its parts); once every replica holds them, every replica holds what <paramref name="sourceStable"/> names for
    /// the moved keys.
    /// </summary>
    public void RecordImport(Frontier requires, Frontier? sourceStable)
    {
        if (sourceStable is not { IsEmpty: false } source) return;
        _imports.Add((requires, source));
    }

    /// <summary>A peer's foreign frontier, from gossip; true when it taught this replica anything (then recompute).</summary>
    public bool LearnForeign(Frontier? foreign)
    {
        if (foreign is not { } learned || _foreign.Covers(learned)) return false;
        _foreign = _foreign.Merge(learned);
        return true;
    }

    /// <summary>
    /// This replica moved to another shard: what it learned of foreign frontiers was about the replicas of the shard it
    /// left, and its new peers do not hold it.
    /// </summary>
    public void Forget()
    {
        _foreign = Frontier.Empty;
        _imports.Clear();
    }

    /// <summary>The foreign frontier to pass on in gossip, or null when there is none.</summary>
    public Frontier? ForeignSnapshot() => _foreign.IsEmpty ? null : _foreign;

    /// <summary>Recomputes both frontiers from this replica's applied frontier and what its peers last reported.</summary>
    public void Recompute(IReadOnlyList<Frontier> replicaFrontiers)
    {
        var stable = Frontier.Minimum(replicaFrontiers);
        Stable = stable;
        _imports.RemoveAll(i =>
        {
            if (!stable.Covers(i.Requires)) return false;
            _foreign = _foreign.Merge(i.SourceStable);
            return true;
        });
        Effective = stable.Merge(_foreign);
    }
}
