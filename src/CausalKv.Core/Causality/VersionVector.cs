using System.Runtime.InteropServices;

namespace CausalKv.Causality;

/// <summary>
/// A per-key version vector: for each origin, the highest sequence number of a
/// write to this key that the version includes. Entries are kept sorted by
/// origin; the vector is immutable.
/// Invariant: every (origin, seq) entry names a write to the same key, so a
/// replica whose version of the key has vector V holds every write to the key
/// that V covers (directly, or through a write that superseded it).
/// </summary>
public sealed class VersionVector : IEquatable<VersionVector>
{
    public static readonly VersionVector Empty = new([]);

    private readonly Entry[] _entries;

    private VersionVector(Entry[] sortedEntries) => _entries = sortedEntries;

    public readonly record struct Entry(long Origin, long Seq);

    public ReadOnlySpan<Entry> Entries => _entries;

    public int Count => _entries.Length;

    public bool IsEmpty => _entries.Length == 0;

    /// <summary>A vector of entries already sorted by origin, each origin once, every seq positive (unchecked).</summary>
    internal static VersionVector OfSorted(Entry[] sortedEntries) => sortedEntries.Length == 0 ? Empty : new VersionVector(sortedEntries);

    /// <summary>
    /// The vector of <paramref name="entries"/>: zero entries dropped, an origin named twice keeps its highest seq.
    /// Clocks decoded from records and from the wire are almost always already sorted and distinct (one entry, as a
    /// rule); those are copied into one array as they are, the rest are sorted and merged.
    /// </summary>
    /// <exception cref="ArgumentException">A seq is negative.</exception>
    public static VersionVector Of(params ReadOnlySpan<Entry> entries) =>
        IsSortedDistinctPositive(entries) ? OfSorted(entries.ToArray()) : OfAny(entries);

    /// <summary>
    /// As <see cref="Of"/>, taking <paramref name="entries"/> as the vector's own array when it is already sorted,
    /// distinct and positive (the caller gives it up and never changes it again): a decoded clock costs one array.
    /// </summary>
    internal static VersionVector OfOwned(Entry[] entries) =>
        IsSortedDistinctPositive(entries) ? OfSorted(entries) : OfAny(entries);

    /// <summary>True when every seq is positive and the origins strictly increase; throws on a negative seq.</summary>
    private static bool IsSortedDistinctPositive(ReadOnlySpan<Entry> entries)
    {
        var fast = true;
        for (var i = 0; i < entries.Length; i++)
        {
            var seq = entries[i].Seq;
            if (seq < 0) throw new ArgumentException("Sequence numbers are never negative.", nameof(entries));
            if (seq == 0 || (i > 0 && entries[i - 1].Origin >= entries[i].Origin)) fast = false;
        }
        return fast;
    }

    private static VersionVector OfAny(ReadOnlySpan<Entry> entries)
    {
        if (entries.IsEmpty) return Empty;
        var map = new SortedDictionary<long, long>();
        foreach (var e in entries)
        {
            if (e.Seq < 0) throw new ArgumentException("Sequence numbers are never negative.", nameof(entries));
            if (e.Seq == 0) continue;
            map[e.Origin] = map.TryGetValue(e.Origin, out var s) ? Math.Max(s, e.Seq) : e.Seq;
        }
        return map.Count == 0 ? Empty : new VersionVector(map.Select(kv => new Entry(kv.Key, kv.Value)).ToArray());
    }

    public long this[long origin]
    {
        get
        {
            var i = IndexOf(origin);
            return i >= 0 ? _entries[i].Seq : 0;
        }
    }

    private int IndexOf(long origin)
    {
        int lo = 0, hi = _entries.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var o = _entries[mid].Origin;
            if (o == origin) return mid;
            if (o < origin) lo = mid + 1; else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>True when this vector includes every write <paramref name="other"/> includes.</summary>
    public bool Dominates(VersionVector other)
    {
        if (ReferenceEquals(this, other) || other._entries.Length == 0) return true;
        int i = 0;
        foreach (var e in other._entries)
        {
            while (i < _entries.Length && _entries[i].Origin < e.Origin) i++;
            if (i == _entries.Length || _entries[i].Origin != e.Origin || _entries[i].Seq < e.Seq) return false;
        }
        return true;
    }

    /// <summary>The least upper bound: pointwise maximum.</summary>
    public VersionVector Join(VersionVector other)
    {
        if (Dominates(other)) return this;
        if (other.Dominates(this)) return other;
        var result = new List<Entry>(_entries.Length + other._entries.Length);
        int i = 0, j = 0;
        while (i < _entries.Length || j < other._entries.Length)
        {
            if (j == other._entries.Length || (i < _entries.Length && _entries[i].Origin < other._entries[j].Origin))
                result.Add(_entries[i++]);
            else if (i == _entries.Length || other._entries[j].Origin < _entries[i].Origin)
                result.Add(other._entries[j++]);
            else
            {
                result.Add(new Entry(_entries[i].Origin, Math.Max(_entries[i].Seq, other._entries[j].Seq)));
                i++; j++;
            }
        }
        return new VersionVector(result.ToArray());
    }

    /// <summary>This vector with <paramref name="origin"/>'s entry raised to <paramref name="seq"/>.</summary>
    public VersionVector With(long origin, long seq)
    {
        if (seq <= 0) return this;
        var i = IndexOf(origin);
        if (i >= 0)
        {
            if (_entries[i].Seq >= seq) return this;
            var copy = (Entry[])_entries.Clone();
            copy[i] = new Entry(origin, seq);
            return new VersionVector(copy);
        }
        var at = ~i;
        var grown = new Entry[_entries.Length + 1];
        _entries.AsSpan(0, at).CopyTo(grown);
        grown[at] = new Entry(origin, seq);
        _entries.AsSpan(at).CopyTo(grown.AsSpan(at + 1));
        return new VersionVector(grown);
    }

    /// <summary>True when every entry is at or below <paramref name="frontier"/>'s entry for its origin.</summary>
    public bool IsCoveredBy(Frontier frontier)
    {
        foreach (var e in _entries)
            if (frontier.Get(e.Origin) < e.Seq) return false;
        return true;
    }

    public bool Equals(VersionVector? other) =>
        other is not null && MemoryMarshal.AsBytes(_entries.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(other._entries.AsSpan()));

    public override bool Equals(object? obj) => Equals(obj as VersionVector);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var e in _entries) { h.Add(e.Origin); h.Add(e.Seq); }
        return h.ToHashCode();
    }

    public override string ToString() => "{" + string.Join(",", _entries.ToArray().Select(e => $"{OriginId.NodeOf(e.Origin)}.{OriginId.IncarnationOf(e.Origin)}:{e.Seq}")) + "}";
}
