namespace CausalKv.Router.Routing;

/// <summary>
/// Chooses the order in which one shard's replicas are tried. Invariants: only the given replicas (one shard's)
/// ever appear, each exactly once; the first is the less loaded of two random available replicas
/// (power of two choices over outstanding requests), or of two random replicas when none is available (a shard whose
/// replicas all look unhealthy is still tried); the rest follow in view order after the first, available ones
/// before ruled-out ones, so a connect failure moves to the shard's next replica.
/// </summary>
internal static class ReplicaSelector
{
    public static Replica[] AttemptOrder(IReadOnlyList<Replica> replicas, long nowMs, Random random)
    {
        var n = replicas.Count;
        if (n == 0) return [];
        Span<bool> available = n <= 64 ? stackalloc bool[n] : new bool[n];
        var availableCount = 0;
        for (var i = 0; i < n; i++)
        {
            available[i] = replicas[i].Health.IsAvailable(nowMs);
            if (available[i]) availableCount++;
        }

        var first = ChooseFirst(replicas, available, availableCount, random);
        var order = new Replica[n];
        order[0] = replicas[first];
        var next = 1;
        // Two passes over the replicas after the first, in view order: the available ones, then the ruled-out ones.
        for (var pass = 0; pass < 2; pass++)
        {
            var wantAvailable = pass == 0;
            for (var step = 1; step < n; step++)
            {
                var i = (first + step) % n;
                if (available[i] == wantAvailable) order[next++] = replicas[i];
            }
        }
        return order;
    }

    private static int ChooseFirst(IReadOnlyList<Replica> replicas, ReadOnlySpan<bool> available, int availableCount, Random random)
    {
        // When no replica is available every replica is a candidate.
        var candidates = availableCount == 0 ? replicas.Count : availableCount;
        if (candidates == 1) return NthCandidate(available, availableCount == 0, 0);
        var a = random.Next(candidates);
        var b = random.Next(candidates - 1);
        if (b >= a) b++;
        var ia = NthCandidate(available, availableCount == 0, a);
        var ib = NthCandidate(available, availableCount == 0, b);
        return replicas[ib].Outstanding < replicas[ia].Outstanding ? ib : ia;
    }

    private static int NthCandidate(ReadOnlySpan<bool> available, bool everyReplica, int nth)
    {
        if (everyReplica) return nth;
        for (var i = 0; i < available.Length; i++)
        {
            if (available[i] && nth-- == 0) return i;
        }
        throw new InvalidOperationException("Fewer available replicas than counted.");
    }
}
