namespace CausalKv.Sharding;

/// <summary>
/// The order in which one shard's replicas are tried, shared by the router and the client. Invariants: the first is
/// the less loaded of two replicas drawn at random among the available ones (power of two choices), or among all of
/// them when none is available (a shard whose replicas all look unhealthy is still tried); the others follow in view
/// order after the first, available ones before ruled-out ones, so a connect failure moves to the shard's next
/// replica; every replica appears exactly once. Works on indices, so callers keep their own replica types; no I/O.
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
