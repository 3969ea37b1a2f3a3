// ReplicaOrder: the order in which one shard's replicas are tried for one request.
//
// Invariants: every replica of the shard appears exactly once; the first is the less loaded (fewer requests of this
// client in flight) of two replicas drawn at random among the available ones, or among all of them when none is
// available (a shard whose replicas all failed lately is still tried rather than given up); the others follow in view
// order after the first, available ones before penalized ones, so a connect failure moves on to the next replica.
namespace CausalKv.Client.Routing;

/// <summary>Which replica of a shard takes a request, and which ones after it when it cannot be reached. No I/O.</summary>
internal static class ReplicaOrder
{
    public static ReplicaEndpoint[] For(IReadOnlyList<ReplicaEndpoint> replicas, long nowMs, Random random)
    {
        var n = replicas.Count;
        if (n == 0) return [];
        Span<bool> available = n <= 64 ? stackalloc bool[n] : new bool[n];
        var availableCount = 0;
        for (var i = 0; i < n; i++)
        {
            available[i] = replicas[i].IsAvailable(nowMs);
            if (available[i]) availableCount++;
        }
        var first = First(replicas, available, availableCount, random);
        var order = new ReplicaEndpoint[n];
        order[0] = replicas[first];
        var next = 1;
        foreach (var wantAvailable in (ReadOnlySpan<bool>)[true, false])
        {
            for (var step = 1; step < n; step++)
            {
                var i = (first + step) % n;
                if (available[i] == wantAvailable) order[next++] = replicas[i];
            }
        }
        return order;
    }

    private static int First(IReadOnlyList<ReplicaEndpoint> replicas, ReadOnlySpan<bool> available, int availableCount, Random random)
    {
        var all = availableCount == 0;
        var candidates = all ? replicas.Count : availableCount;
        if (candidates == 1) return Candidate(available, all, 0);
        var a = random.Next(candidates);
        var b = random.Next(candidates - 1);
        if (b >= a) b++;
        var ia = Candidate(available, all, a);
        var ib = Candidate(available, all, b);
        return replicas[ib].Outstanding < replicas[ia].Outstanding ? ib : ia;
    }

    private static int Candidate(ReadOnlySpan<bool> available, bool all, int nth)
    {
        if (all) return nth;
        for (var i = 0; i < available.Length; i++)
        {
            if (available[i] && nth-- == 0) return i;
        }
        throw new InvalidOperationException("Fewer available replicas than counted.");
    }
}
