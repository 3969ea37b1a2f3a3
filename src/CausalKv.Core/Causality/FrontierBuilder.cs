namespace CausalKv.Causality;

/// <summary>
/// A frontier that grows in place, for a replica's applied frontier (it moves on every write) and for a frontier joined
/// from many parts (a log replayed record by record). Raising an origin costs a dictionary update, not a copy;
/// <see cref="ToFrontier"/> builds the immutable <see cref="Frontier"/> once per change and hands out that one until the
/// next, so a frontier read far more often than it moves is built once. It only grows: an origin's number never goes
/// down. Not thread-safe: its owner serialises calls.
/// </summary>
public sealed class FrontierBuilder
{
    private readonly Dictionary<long, long> _entries = [];
    private Frontier? _built;

    public FrontierBuilder()
    {
    }

    public FrontierBuilder(Frontier start)
    {
        foreach (var (origin, seq) in start) _entries[origin] = seq;
        _built = start;
    }

    /// <summary>How many origins the frontier names.</summary>
    public int Count => _entries.Count;

    /// <summary>The sequence number <paramref name="origin"/> is held up to; 0 for an origin not named.</summary>
    public long Get(long origin) => _entries.GetValueOrDefault(origin);

    /// <summary>Raises <paramref name="origin"/> to <paramref name="seq"/>; true when that moved it (a lower or equal number changes nothing).</summary>
    public bool Raise(long origin, long seq)
    {
        if (seq <= 0 || _entries.GetValueOrDefault(origin) >= seq) return false;
        _entries[origin] = seq;
        _built = null;
        return true;
    }

    /// <summary>Raises every origin to <paramref name="other"/>'s number for it (the pointwise maximum); true when anything moved.</summary>
    public bool Join(Frontier other)
    {
        var moved = false;
        foreach (var (origin, seq) in other) moved |= Raise(origin, seq);
        return moved;
    }

    /// <summary>True when this frontier holds every write <paramref name="other"/> names.</summary>
    public bool Covers(Frontier other)
    {
        foreach (var (origin, seq) in other)
            if (Get(origin) < seq) return false;
        return true;
    }

    /// <summary>The frontier as it stands: the same instance until the next change.</summary>
    public Frontier ToFrontier() => _built ??= Build();

    private Frontier Build()
    {
        // Raise keeps only positive numbers, each origin once: a copy and a sort make the frontier.
        var entries = new KeyValuePair<long, long>[_entries.Count];
        ((ICollection<KeyValuePair<long, long>>)_entries).CopyTo(entries, 0);
        return Frontier.OfDistinct(entries);
    }

    /// <summary>The origins with their numbers, in no particular order (no allocation).</summary>
    public Dictionary<long, long>.Enumerator GetEnumerator() => _entries.GetEnumerator();
}
