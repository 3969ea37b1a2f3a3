using System.Collections.Immutable;

namespace CausalKv.Causality;

/// <summary>
/// A session's causal dependencies: at most one <see cref="Dependency"/> per key, and the highest write tag the
/// session has observed (<see cref="HighestTag"/>).
/// Immutable; joins are pointwise, so the set never grows past one entry per key,
/// and entries every replica already holds are pruned away (see <see cref="Prune"/>).
/// Invariant: <see cref="HighestTag"/> is at least the tag of every dependency the set ever held, pruned ones included.
/// </summary>
public sealed class DependencySet
{
    public static readonly DependencySet Empty = new(ImmutableDictionary<string, Dependency>.Empty.WithComparers(StringComparer.Ordinal), WriteTag.Zero);

    private readonly ImmutableDictionary<string, Dependency> _map;

    private DependencySet(ImmutableDictionary<string, Dependency> map, WriteTag highest)
    {
        _map = map;
        HighestTag = highest;
    }

    public int Count => _map.Count;

    /// <summary>No dependency is left (a pruned set may still remember its <see cref="HighestTag"/>).</summary>
    public bool IsEmpty => _map.IsEmpty;

    /// <summary>Nothing at all: no dependency and no observed tag; what a new session sends.</summary>
    public bool IsBlank => _map.IsEmpty && HighestTag == WriteTag.Zero;

    /// <summary>
    /// The highest tag of any write the session observed, also after its dependency was pruned. A write takes a tag
    /// above it (<see cref="StoredVersion.NewWrite"/>), so it wins the tie-break against every write it follows even at
    /// a replica that never received them: a dependency every replica of the old shard held is pruned, and a replica
    /// new to the key's shard may not hold it yet. Writes therefore never wait for one.
    /// </summary>
    public WriteTag HighestTag { get; }

    /// <summary>This set remembering <paramref name="tag"/> as observed (a no-op when it knows a higher one).</summary>
    public DependencySet Observing(WriteTag tag) => tag <= HighestTag ? this : new DependencySet(_map, tag);

    public IEnumerable<KeyValuePair<string, Dependency>> Entries => _map;

    public Dependency? this[string key] => _map.TryGetValue(key, out var d) ? d : null;

    /// <summary>
    /// The set holding <paramref name="entries"/> as if added one by one with <see cref="With"/> (empty clocks skipped,
    /// a key named twice joined), built in one pass over one builder rather than a new set per entry.
    /// </summary>
    public static DependencySet Of(IEnumerable<KeyValuePair<string, Dependency>> entries)
    {
        ImmutableDictionary<string, Dependency>.Builder? builder = null;
        var highest = WriteTag.Zero;
        foreach (var (k, d) in entries) Add(ref builder, ref highest, k, d);
        return Built(builder, highest);
    }

    /// <summary>As <see cref="Of(IEnumerable{KeyValuePair{string, Dependency}})"/>, without an enumerator.</summary>
    internal static DependencySet OfEntries(ReadOnlySpan<KeyValuePair<string, Dependency>> entries)
    {
        ImmutableDictionary<string, Dependency>.Builder? builder = null;
        var highest = WriteTag.Zero;
        foreach (var (k, d) in entries) Add(ref builder, ref highest, k, d);
        return Built(builder, highest);
    }

    private static void Add(ref ImmutableDictionary<string, Dependency>.Builder? builder, ref WriteTag highest, string key, Dependency dependency)
    {
        if (dependency.Clock.IsEmpty) return;
        builder ??= Empty._map.ToBuilder();
        if (builder.TryGetValue(key, out var existing))
        {
            var joined = existing.Join(dependency);
            if (joined == existing) return;
            builder[key] = joined;
            highest = WriteTag.Max(highest, joined.Tag);
            return;
        }
        builder.Add(key, dependency);
        highest = WriteTag.Max(highest, dependency.Tag);
    }

    private static DependencySet Built(ImmutableDictionary<string, Dependency>.Builder? builder, WriteTag highest) =>
        builder is null || builder.Count == 0 ? Empty : new DependencySet(builder.ToImmutable(), highest);

    /// <summary>
    /// A set of <paramref name="count"/> dependencies on distinct keys with non-empty clocks (unchecked), built in one
    /// pass: what parsed metadata becomes once its MAC matched.
    /// </summary>
    internal static DependencySet OfDistinct(string[] keys, Dependency[] dependencies, int count, WriteTag highest)
    {
        var builder = ImmutableDictionary.CreateBuilder<string, Dependency>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            builder.Add(keys[i], dependencies[i]);
            highest = WriteTag.Max(highest, dependencies[i].Tag);
        }
        return new DependencySet(builder.ToImmutable(), highest);
    }

    public DependencySet With(string key, Dependency dependency)
    {
        if (dependency.Clock.IsEmpty) return this;
        if (_map.TryGetValue(key, out var existing))
        {
            var joined = existing.Join(dependency);
            return joined == existing ? this : new DependencySet(_map.SetItem(key, joined), WriteTag.Max(HighestTag, joined.Tag));
        }
        return new DependencySet(_map.Add(key, dependency), WriteTag.Max(HighestTag, dependency.Tag));
    }

    /// <summary>
    /// The same entries as this set, rebuilt on <paramref name="basis"/> so that it shares basis's structure (and its
    /// <see cref="Dependency"/> objects) wherever the two agree. Equal as a map to this set, whatever the basis: only
    /// memory changes. A session's dependencies arrive parsed from JSON, a fresh copy per request; stored as they come,
    /// every write would hold its own copy of them all, and a session that writes N keys cut off from the other
    /// replicas (nothing stable, so nothing pruned) would cost N squared entries. Rebased on the dependencies of the
    /// version the session saw last, consecutive writes share all but the entries that changed.
    /// </summary>
    public DependencySet Rebase(DependencySet basis)
    {
        if (ReferenceEquals(this, basis) || basis.IsEmpty || IsEmpty) return this;
        var map = basis._map;
        foreach (var (k, _) in basis._map)
            if (!_map.ContainsKey(k)) map = map.Remove(k);
        foreach (var (k, d) in _map)
            if (!map.TryGetValue(k, out var there) || !there.Equals(d)) map = map.SetItem(k, d);
        return ReferenceEquals(map, basis._map) && basis.HighestTag == HighestTag ? basis : new DependencySet(map, HighestTag);
    }

    /// <summary>The entry with the highest write tag: the latest write the session depends on; null when empty.</summary>
    public KeyValuePair<string, Dependency>? Latest()
    {
        KeyValuePair<string, Dependency>? latest = null;
        foreach (var entry in _map)
            if (latest is null || entry.Value.Tag > latest.Value.Value.Tag) latest = entry;
        return latest;
    }

    /// <summary>The set without <paramref name="key"/>'s dependency; its tag stays observed.</summary>
    public DependencySet Without(string key) => _map.ContainsKey(key) ? new DependencySet(_map.Remove(key), HighestTag) : this;

    public DependencySet Join(DependencySet other)
    {
        if (ReferenceEquals(this, other)) return this;
        if (other.IsEmpty) return Observing(other.HighestTag);
        if (IsEmpty) return other.Observing(HighestTag);
        var (big, small) = Count >= other.Count ? (this, other) : (other, this);
        var result = big;
        foreach (var (k, d) in small._map) result = result.With(k, d);
        return result.Observing(small.HighestTag);
    }

    /// <summary>
    /// Drops every dependency that <paramref name="isStable"/> says all replicas of
    /// its key's shard already hold: no replica can be behind it any more.
    /// </summary>
    public DependencySet Prune(Func<string, Dependency, bool> isStable)
    {
        if (IsEmpty) return this;
        ImmutableDictionary<string, Dependency>.Builder? builder = null;
        foreach (var (k, d) in _map)
        {
            if (!isStable(k, d)) continue;
            builder ??= _map.ToBuilder();
            builder.Remove(k);
        }
        return builder is null ? this : new DependencySet(builder.ToImmutable(), HighestTag);
    }

    /// <summary>The same dependencies and the same <see cref="HighestTag"/>.</summary>
    public bool SetEquals(DependencySet other) =>
        Count == other.Count && HighestTag == other.HighestTag && _map.All(kv => other._map.TryGetValue(kv.Key, out var d) && d == kv.Value);
}
