namespace CausalKv.Sharding;

/// <summary>
/// The order in which one shard's replicas are tried, shared by the router and the client. Invariants: the first is,
/// for a read, the less loaded of two replicas drawn at random among the available ones (power of two choices), and for
/// a write one drawn uniformly at random among them; among all of them when none is available (a shard whose replicas
/// all look unhealthy is still tried). The others follow in view order after the first, available ones before
/// ruled-out ones, so a connect failure moves to the shard's next replica; every replica appears exactly once. Works
/// on indices, so callers keep their own replica types; no I/O.
/// Why writes are not sent to the less loaded replica: every write costs each replica of its shard alike, whichever
/// takes it (it is replicated to the others). Steered to the replica answering fastest, writes piled onto it and left
/// the other behind, so they became stable later: sessions carried twice the metadata and the shard spent 1.7 times the
/// CPU per write (bench/run.sh client, 2026-12-03). Reads cost only the replica that serves them, and there the less
/// loaded choice served 1.2 times as many as a random one.
/// </summary>
public static class ReplicaChoice
{
    /// <summary>
    /// Two distinct indices drawn at random among the available replicas (all of them when none is available); the
    /// same index twice when there is one candidate. The caller keeps the less loaded of the two.
    /// </summary>
    public static (int A, int B) TwoCandidates(ReadOnlySpan<bool> available, int availableCount, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var every = availableCount == 0;
        var candidates = every ? available.Length : availableCount;
        if (candidates <= 1) return (Nth(available, every, 0), Nth(available, every, 0));
        var a = random.Next(candidates);
        var b = random.Next(candidates - 1);
        if (b >= a) b++;
        return (Nth(available, every, a), Nth(available, every, b));
    }

    /// <summary>One index drawn uniformly at random among the available replicas (all of them when none is available): where a write goes first.</summary>
    public static int OneCandidate(ReadOnlySpan<bool> available, int availableCount, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var every = availableCount == 0;
        var candidates = every ? available.Length : availableCount;
        return Nth(available, every, candidates <= 1 ? 0 : random.Next(candidates));
    }

    /// <summary>Fills <paramref name="order"/> with <paramref name="first"/>, then the others in view order after it: available ones, then ruled-out ones.</summary>
    public static void AttemptOrder(ReadOnlySpan<bool> available, int first, Span<int> order)
    {
        var n = available.Length;
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(first, n);
        if (order.Length != n) throw new ArgumentException("One slot per replica.", nameof(order));
        order[0] = first;
        var next = 1;
        for (var pass = 0; pass < 2; pass++)
        {
            var wantAvailable = pass == 0;
            for (var step = 1; step < n; step++)
            {
                var i = (first + step) % n;
                if (available[i] == wantAvailable) order[next++] = i;
            }
        }
    }

    private static int Nth(ReadOnlySpan<bool> available, bool every, int nth)
    {
        if (every) return nth;
        for (var i = 0; i < available.Length; i++)
            if (available[i] && nth-- == 0) return i;
        throw new InvalidOperationException("Fewer available replicas than counted.");
    }
}
