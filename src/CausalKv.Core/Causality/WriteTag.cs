namespace CausalKv.Causality;

/// <summary>
/// A total order over the writes to one key, used to pick the surviving value
/// among concurrent versions. A hybrid logical timestamp: every write's tag is
/// above the tags of the versions it causally follows, so the order never
/// contradicts causality; <see cref="Node"/> breaks ties between nodes.
/// </summary>
public readonly record struct WriteTag(long Timestamp, int Node) : IComparable<WriteTag>
{
    public static readonly WriteTag Zero = default;

    public int CompareTo(WriteTag other)
    {
        var c = Timestamp.CompareTo(other.Timestamp);
        return c != 0 ? c : Node.CompareTo(other.Node);
    }

    public static bool operator <(WriteTag a, WriteTag b) => a.CompareTo(b) < 0;
    public static bool operator >(WriteTag a, WriteTag b) => a.CompareTo(b) > 0;
    public static bool operator <=(WriteTag a, WriteTag b) => a.CompareTo(b) <= 0;
    public static bool operator >=(WriteTag a, WriteTag b) => a.CompareTo(b) >= 0;

    public static WriteTag Max(WriteTag a, WriteTag b) => a >= b ? a : b;
}
