using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;

namespace CausalKv.Causality;

/// <summary>
/// A per-origin frontier: for each origin, the highest sequence number up to which every write of that origin is held
/// (gap-free). An origin it does not name is at 0, so it holds only positive entries, kept ordered by origin.
/// Immutable: <see cref="With"/>, <see cref="Merge"/> and <see cref="Min"/> return new frontiers. A replica's applied
/// frontier grows by <see cref="Merge"/> (pointwise maximum: commutative, associative, idempotent); a shard's stable
/// frontier is the <see cref="Min"/> over its replicas. On the wire it is the JSON object a
/// <c>Dictionary&lt;long, long&gt;</c> makes (<c>{"origin": seq, ...}</c>), so it reads what frontiers were written as.
/// </summary>
[JsonConverter(typeof(FrontierJsonConverter))]
public readonly struct Frontier : IReadOnlyDictionary<long, long>, IEquatable<Frontier>
{
    private readonly KeyValuePair<long, long>[]? _entries;

    private Frontier(KeyValuePair<long, long>[] entries) => _entries = entries.Length == 0 ? null : entries;

    public static Frontier Empty => default;

    /// <summary>A frontier of <paramref name="entries"/>: an origin named twice is at the higher of its numbers, and entries at 0 or below are left out.</summary>
    public static Frontier Of(IEnumerable<KeyValuePair<long, long>> entries)
    {
        if (entries is Frontier frontier) return frontier;
        var sorted = entries.Where(e => e.Value > 0).ToArray();
        if (sorted.Length == 0) return Empty;
        Array.Sort(sorted, ByOrigin);
        var n = 0;
        foreach (var e in sorted)
        {
            if (n > 0 && sorted[n - 1].Key == e.Key)
            {
                if (sorted[n - 1].Value < e.Value) sorted[n - 1] = e;
            }
            else sorted[n++] = e;
        }
        return new Frontier(n == sorted.Length ? sorted : sorted[..n]);
    }

    /// <summary>A frontier of <paramref name="entries"/>, each origin once and every number positive (unchecked), sorted in place.</summary>
    internal static Frontier OfDistinct(KeyValuePair<long, long>[] entries)
    {
        Array.Sort(entries, ByOrigin);
        return new Frontier(entries);
    }

    private static readonly Comparison<KeyValuePair<long, long>> ByOrigin = static (a, b) => a.Key.CompareTo(b.Key);

    private ReadOnlySpan<KeyValuePair<long, long>> Entries => _entries;

    public int Count => Entries.Length;

    public bool IsEmpty => Count == 0;

    /// <summary>The sequence number <paramref name="origin"/> is held up to; 0 for an origin this frontier does not name.</summary>
    public long Get(long origin) => IndexOf(origin) is var i and >= 0 ? Entries[i].Value : 0;

    /// <summary>This frontier with <paramref name="origin"/> at <paramref name="seq"/> (left out at 0 or below).</summary>
    public Frontier With(long origin, long seq)
    {
        var entries = Entries;
        var i = IndexOf(origin);
        if (i >= 0)
        {
            if (entries[i].Value == seq) return this;
            var copy = new List<KeyValuePair<long, long>>(entries.Length);
            foreach (var e in entries) if (e.Key != origin) copy.Add(e);
            if (seq > 0) copy.Insert(i, new(origin, seq));
            return new Frontier([.. copy]);
        }
        if (seq <= 0) return this;
        var at = ~i;
        var result = new KeyValuePair<long, long>[entries.Length + 1];
        entries[..at].CopyTo(result);
        result[at] = new(origin, seq);
        entries[at..].CopyTo(result.AsSpan(at + 1));
        return new Frontier(result);
    }

    /// <summary>The pointwise maximum: every write either frontier holds.</summary>
    public Frontier Merge(Frontier other)
    {
        if (other.IsEmpty || Covers(other)) return this;
        if (IsEmpty || other.Covers(this)) return other;
        var a = Entries;
        var b = other.Entries;
        var result = new List<KeyValuePair<long, long>>(a.Length + b.Length);
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            if (j == b.Length || i < a.Length && a[i].Key < b[j].Key) result.Add(a[i++]);
            else if (i == a.Length || b[j].Key < a[i].Key) result.Add(b[j++]);
            else { result.Add(new(a[i].Key, Math.Max(a[i].Value, b[j].Value))); i++; j++; }
        }
        return new Frontier([.. result]);
    }

    /// <summary>The pointwise minimum: the writes both frontiers hold.</summary>
    public Frontier Min(Frontier other)
    {
        var result = new List<KeyValuePair<long, long>>(Math.Min(Count, other.Count));
        foreach (var (origin, seq) in Entries)
        {
            var min = Math.Min(seq, other.Get(origin));
            if (min > 0) result.Add(new(origin, min));
        }
        return new Frontier([.. result]);
    }

    /// <summary>
    /// The pointwise minimum of <paramref name="frontiers"/>; empty when there are none. Over a shard's replicas' applied
    /// frontiers it is the shard's stable frontier: a dependency whose clock it covers is held by every replica and can be
    /// dropped from client metadata. One pass over the first frontier, each origin looked up in the others.
    /// </summary>
    public static Frontier Minimum(IReadOnlyList<Frontier> frontiers)
    {
        if (frontiers.Count == 0) return Empty;
        var first = frontiers[0];
        List<KeyValuePair<long, long>>? result = null;
        var same = true;
        foreach (var (origin, seq) in first.Entries)
        {
            var min = seq;
            for (var i = 1; i < frontiers.Count && min > 0; i++) min = Math.Min(min, frontiers[i].Get(origin));
            same &= min == seq;
            if (min > 0) (result ??= new List<KeyValuePair<long, long>>(first.Count)).Add(new(origin, min));
        }
        return same ? first : result is null ? Empty : new Frontier([.. result]);
    }

    /// <summary>True when this frontier holds every write <paramref name="other"/> names.</summary>
    public bool Covers(Frontier other)
    {
        foreach (var (origin, seq) in other.Entries)
            if (Get(origin) < seq) return false;
        return true;
    }

    /// <summary>How many writes this frontier names that <paramref name="other"/> does not hold.</summary>
    public long Beyond(Frontier other)
    {
        long n = 0;
        foreach (var (origin, seq) in Entries) n += Math.Max(0, seq - other.Get(origin));
        return n;
    }

    public Dictionary<long, long> ToDictionary()
    {
        var result = new Dictionary<long, long>(Count);
        foreach (var (origin, seq) in Entries) result[origin] = seq;
        return result;
    }

    public bool Equals(Frontier other) => Entries.SequenceEqual(other.Entries);

    public override bool Equals(object? obj) => obj is Frontier other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var (origin, seq) in Entries) { hash.Add(origin); hash.Add(seq); }
        return hash.ToHashCode();
    }

    public static bool operator ==(Frontier left, Frontier right) => left.Equals(right);

    public static bool operator !=(Frontier left, Frontier right) => !left.Equals(right);

    public override string ToString() =>
        "{" + string.Join(", ", (_entries ?? []).Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key}: {e.Value}"))) + "}";

    private int IndexOf(long origin)
    {
        var entries = Entries;
        int lo = 0, hi = entries.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var key = entries[mid].Key;
            if (key == origin) return mid;
            if (key < origin) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    long IReadOnlyDictionary<long, long>.this[long key] =>
        IndexOf(key) is var i and >= 0 ? Entries[i].Value : throw new KeyNotFoundException($"The frontier names no origin {key}.");

    IEnumerable<long> IReadOnlyDictionary<long, long>.Keys => (_entries ?? []).Select(e => e.Key);

    IEnumerable<long> IReadOnlyDictionary<long, long>.Values => (_entries ?? []).Select(e => e.Value);

    public bool ContainsKey(long key) => IndexOf(key) >= 0;

    public bool TryGetValue(long key, out long value)
    {
        var i = IndexOf(key);
        value = i >= 0 ? Entries[i].Value : 0;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<long, long>> GetEnumerator() => ((IEnumerable<KeyValuePair<long, long>>)(_entries ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
