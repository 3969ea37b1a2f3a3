namespace CausalKv.Causality;

/// <summary>
/// The "may this read answer now?" decision. A single-key read waits only for
/// a write to that key the session depends on and that could change the answer
/// (no false waits); a whole-shard read waits for any such write to a key of the shard.
/// Invariant: a read answers only with the version every replica converges to once
/// the missing writes arrive. A local version that lacks some of those writes but
/// outranks them all in the tie-break (<see cref="WriteTag"/>) is that version: a
/// write causally after it would carry a higher tag, so none of the missing writes
/// follows it, and the merge keeps the highest tag among concurrent versions.
/// </summary>
public static class CausalRead
{
    /// <summary>
    /// The dependency a read of <paramref name="key"/> still lacks and that could change its answer, or null when
    /// it may answer: the session depends on nothing here, the local version includes every write it depends on,
    /// or the local version wins the tie-break against all of them. The dependency's tag is the highest of its writes,
    /// and a tag names one write of a key: a local version with that very tag holds the highest of them, and every
    /// write it lacks ranks below it.
    /// </summary>
    public static Dependency? Missing(string key, DependencySet session, StoredVersion? local)
    {
        var dep = session[key];
        return dep is not null && CouldChange(dep, local) ? dep : null;
    }

    private static bool CouldChange(Dependency dep, StoredVersion? local) =>
        !dep.IsSatisfiedBy(local?.Clock) && (local is null || local.Tag < dep.Tag);

    /// <summary>
    /// The first (key, dependency) of the shard that the replica still lacks, or
    /// null when a read of the whole shard may answer.
    /// </summary>
    public static KeyValuePair<string, Dependency>? MissingInShard(
        DependencySet session, Func<string, bool> ownedByShard, Func<string, StoredVersion?> lookup)
    {
        foreach (var (k, d) in session.Entries)
        {
            if (!ownedByShard(k)) continue;
            if (CouldChange(d, lookup(k))) return new(k, d);
        }
        return null;
    }

    /// <summary>
    /// What a session depends on after it observed <paramref name="version"/> of
    /// <paramref name="key"/> (read it, or wrote it).
    /// </summary>
    public static DependencySet AfterObserving(DependencySet session, string key, StoredVersion version) =>
        session.Join(version.Dependencies).With(key, version.AsDependency());

    /// <summary>
    /// What a session depends on after its write <paramref name="dot"/> made <paramref name="written"/> (the version
    /// the write stored, its dependencies taken from <paramref name="session"/>): its dependency on the key names the
    /// write's dot alone, not the whole clock. A clock only ever gains a dot by a join with a clock that already held
    /// it (a write, a merge, an import), so every version that includes the dot includes the write's whole clock: the
    /// dot is satisfied, and stable, exactly when the clock is. It replaces what the session depended on for the key,
    /// which the write's clock includes. Metadata then carries one clock entry per key the session wrote, however many
    /// replicas wrote the key before.
    /// </summary>
    public static DependencySet AfterWriting(DependencySet session, string key, StoredVersion written, VersionVector.Entry dot)
    {
        // Defensive: a version that does not hold the dot as its latest entry of that origin is not this write's.
        if (written.Clock[dot.Origin] != dot.Seq) return AfterObserving(session, key, written);
        return session.Join(written.Dependencies).Without(key).With(key, new Dependency(VersionVector.Of(dot), written.Tag));
    }
}
