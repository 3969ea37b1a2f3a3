namespace CausalKv.Causality;

/// <summary>
/// The state a replica holds for one key: the surviving value (null for a
/// delete), the tag that chose it, the clock of every write it includes, and the
/// session dependencies those writes carried.
/// Invariant: <see cref="Merge"/> is a join (commutative, associative,
/// idempotent): value and tag come from the highest tag, clock and dependencies
/// are joined. Replicas that merged the same versions in any order hold equal
/// state, and the survivor's clock covers every merged write.
/// </summary>
public sealed record StoredVersion(string? Value, WriteTag Tag, VersionVector Clock, DependencySet Dependencies)
{
    public bool IsDeleted => Value is null;

    public Dependency AsDependency() => new(Clock, Tag);

    public static StoredVersion Merge(StoredVersion? a, StoredVersion b)
    {
        if (a is null || ReferenceEquals(a, b)) return b;
        if (a.Tag >= b.Tag && a.Clock.Dominates(b.Clock)) return WithDependenciesOf(a, b);
        if (b.Tag >= a.Tag && b.Clock.Dominates(a.Clock)) return WithDependenciesOf(b, a);
        var winner = a.Tag >= b.Tag ? a : b;
        return new StoredVersion(winner.Value, winner.Tag, a.Clock.Join(b.Clock), a.Dependencies.Join(b.Dependencies));
    }

    private static StoredVersion WithDependenciesOf(StoredVersion winner, StoredVersion loser)
    {
        var deps = winner.Dependencies.Join(loser.Dependencies);
        return ReferenceEquals(deps, winner.Dependencies) ? winner : winner with { Dependencies = deps };
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
        // The new version's clock includes the local version, so it carries that version's dependencies too.
        var deps = session.Without(key);
        if (local is not null) deps = deps.Join(local.Dependencies);
        return new StoredVersion(value, tag, clock, deps);
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
