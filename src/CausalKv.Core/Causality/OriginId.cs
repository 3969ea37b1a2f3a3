namespace CausalKv.Causality;

/// <summary>
/// Names the writer of a dot: one node in one incarnation. A node takes a new
/// incarnation whenever it starts or its shard changes, so the sequence numbers
/// of one origin are gap-free writes to the keys of exactly one shard, and a
/// restarted node can never reuse a dot it issued before it died.
/// </summary>
public static class OriginId
{
    private const int IncarnationBits = 40;
    private const long IncarnationMask = (1L << IncarnationBits) - 1;

    public static long Create(int nodeId, long incarnation)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nodeId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodeId, (1 << 22) - 1);
        return ((long)nodeId << IncarnationBits) | (incarnation & IncarnationMask);
    }

    public static int NodeOf(long origin) => (int)(origin >> IncarnationBits);

    public static long IncarnationOf(long origin) => origin & IncarnationMask;

    /// <summary>A fresh incarnation: milliseconds since 2025, strictly above <paramref name="previous"/>.</summary>
    public static long NextIncarnation(long previous, DateTimeOffset now)
    {
        var ms = now.ToUnixTimeMilliseconds() - 1_735_689_600_000L;
        return Math.Max(ms, previous + 1) & IncarnationMask;
    }
}
