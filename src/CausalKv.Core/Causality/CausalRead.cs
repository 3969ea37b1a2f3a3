namespace CausalKv.Causality;

/// <summary>
/// The "may this read answer now?" decision. A single-key read waits only for
/// a write to that key the session depends on (no false waits); a whole-shard
/// read waits for any such write to a key of the shard.
/// </summary>
public static class CausalRead
{
    /// <summary>The dependency a read of <paramref name="key"/> still lacks, or null when it may answer.</summary>
    public static Dependency? Missing(string key, DependencySet session, StoredVersion? local)
    {
        var dep = session[key];
        return dep is null || dep.IsSatisfiedBy(local?.Clock) ? null : dep;
    }

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
            if (!d.IsSatisfiedBy(lookup(k)?.Clock)) return new(k, d);
        }
        return null;
    }

    /// <summary>
    /// What a session depends on after it observed <paramref name="version"/> of
    /// <paramref name="key"/> (read it, or wrote it).
    /// </summary>
    public static DependencySet AfterObserving(DependencySet session, string key, StoredVersion version) =>
        session.Join(version.Dependencies).With(key, version.AsDependency());
}
