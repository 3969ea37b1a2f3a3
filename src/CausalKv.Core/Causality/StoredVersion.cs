namespace CausalKv.Causality;

/// <summary>
/// The state a replica holds for one key: the surviving value (null for a
/// delete), the tag that chose it, the clock of every write it includes, and the
/// session dependencies of the write that survives.
/// Invariant: <see cref="Merge"/> is a join (commutative, associative,
/// idempotent): value, tag and dependencies come from the highest tag, clocks are
/// joined. Replicas that merged the same versions in any order hold equal state,
/// and the survivor's clock covers every merged write. Dependencies are those of the
/// surviving write alone (its writer's causal past), not those of the versions it
/// replaced: a write that overwrote a version without reading it does not follow that
/// version's causal past, and a session that did read it carries that past already.
/// Inherited, they made every session carry every recent write of the cluster.
/// </summary>
public sealed record StoredVersion(string? Value, WriteTag Tag, VersionVector Clock, DependencySet Dependencies)
{
    public bool IsDeleted => Value is null;

    public Dependency AsDependency() => new(Clock, Tag);

    public static StoredVersion Merge(StoredVersion? a, StoredVersion b)
    {
        if (a is null || ReferenceEquals(a, b)) return b;
        if (a.Tag != b.Tag)
        {
            var (winner, loser) = a.Tag > b.Tag ? (a, b) : (b, a);
            return winner.Clock.Dominates(loser.Clock) ? winner : winner with { Clock = winner.Clock.Join(loser.Clock) };
        }
        // One write, as two replicas hold it: the same value and tag, its dependencies pruned apart, perhaps different
        // writes merged into each clock.
        var deps = a.Dependencies.Join(b.Dependencies);
        var clock = a.Clock.Join(b.Clock);
        if (ReferenceEquals(deps, a.Dependencies) && clock.Equals(a.Clock)) return a;
        return a with { Clock = clock, Dependencies = deps };
    }

    /// <summary>
    /// A new write of <paramref name="value"/> to <paramref name="key"/>, accepted
    /// by <paramref name="origin"/> as its write number <paramref name="seq"/>. It
    /// follows the local version and whatever the session depends on for this key,
    /// even if this replica has not received those writes yet; its tag is above every
    /// tag the session observed (<see cref="DependencySet.HighestTag"/>), pruned dependencies included.
    /// </summary>
    public static StoredVersion NewWrite(
        string key, string? value, StoredVersion? local, DependencySet session,
        long origin, long seq, int nodeId, long nowMs)
    {
        var onKey = session[key];
        var clock = (local?.Clock ?? VersionVector.Empty);
        if (onKey is not null) clock = clock.Join(onKey.Clock);
        clock = clock.With(origin, seq);
        var floor = Math.Max(Math.Max(local?.Tag.Timestamp ?? 0, onKey?.Tag.Timestamp ?? 0), session.HighestTag.Timestamp);
        var tag = new WriteTag(Math.Max(nowMs, floor + 1), nodeId);
        // The session's causal past, not the local version's: the session carries that version's past only if it read it.
        return new StoredVersion(value, tag, clock, session.Without(key));
    }

    /// <summary>Same value, tag and clock (dependencies are metadata that replicas prune independently).</summary>
    /// <summary>
    /// About how many bytes this version of <paramref name="key"/> takes on the wire (key, value, clock and every
    /// dependency): what bounds a replication, snapshot or handoff batch. Dependencies count: cut off from its peers, a
    /// session's every write carries one per key it wrote before, and a batch bounded by values alone would grow
    /// with the square of the writes.
    /// </summary>
    public long ApproximateWireBytes(string key)
    {
        const int PerEntry = 24, PerDependency = 48;
        long bytes = 64 + key.Length + (Value?.Length ?? 0) + (long)Clock.Count * PerEntry;
        foreach (var (k, d) in Dependencies.Entries) bytes += PerDependency + k.Length + (long)d.Clock.Count * PerEntry;
        return bytes;
    }

    public bool SameStateAs(StoredVersion other) =>
        Value == other.Value && Tag == other.Tag && Clock.Equals(other.Clock);
}
