namespace CausalKv.Causality;

/// <summary>
/// Per-origin frontiers. A replica's applied frontier says, for each origin, up
/// to which sequence number it holds every write of that origin (gap-free); the
/// pointwise minimum over all replicas of a shard is the shard's stable
/// frontier: a dependency whose clock it covers is held by every replica and can
/// be dropped from client metadata.
/// </summary>
public static class StableFrontier
{
    public static Dictionary<long, long> Minimum(IReadOnlyList<IReadOnlyDictionary<long, long>> frontiers)
    {
        var result = new Dictionary<long, long>();
        if (frontiers.Count == 0) return result;
        foreach (var (origin, seq) in frontiers[0])
        {
            var min = seq;
            for (var i = 1; i < frontiers.Count && min > 0; i++)
                min = Math.Min(min, frontiers[i].TryGetValue(origin, out var s) ? s : 0);
            if (min > 0) result[origin] = min;
        }
        return result;
    }

    /// <summary>True when <paramref name="frontier"/> includes every write <paramref name="other"/> names.</summary>
    public static bool Covers(IReadOnlyDictionary<long, long> frontier, IReadOnlyDictionary<long, long> other)
    {
        foreach (var (origin, seq) in other)
            if (frontier.GetValueOrDefault(origin) < seq) return false;
        return true;
    }

    /// <summary>Pointwise maximum of <paramref name="into"/> and <paramref name="other"/>, in place.</summary>
    public static void JoinInto(Dictionary<long, long> into, IReadOnlyDictionary<long, long> other)
    {
        foreach (var (origin, seq) in other)
            if (!into.TryGetValue(origin, out var s) || s < seq) into[origin] = seq;
    }
}
