using CausalKv.Sharding;

namespace CausalKv.Router.Routing;

/// <summary>
/// Chooses the order in which one shard's replicas are tried. Invariants: only the given replicas (one shard's)
/// ever appear, each exactly once; the first is, for a read, the less loaded of two random available replicas
/// (power of two choices over outstanding requests) and for a write a random available one (see ReplicaChoice for why),
/// chosen among all replicas when none is available (a shard whose replicas all look unhealthy is still tried); the rest follow in view order after the first, available ones
/// before ruled-out ones, so a connect failure moves to the shard's next replica.
/// The first choice is made on every request, so it allocates nothing; the rest of the order is only worked out
/// when the first replica could not take the request.
/// </summary>
internal static class ReplicaSelector
{
    /// <summary>The whole attempt order at once (the first choice, then <see cref="AttemptOrder(IReadOnlyList{Replica}, int, long)"/>).</summary>
    public static Replica[] AttemptOrder(IReadOnlyList<Replica> replicas, long nowMs, Random random, bool isRead = true)
    {
        var first = ChooseFirst(replicas, nowMs, random, isRead);
        return first < 0 ? [] : AttemptOrder(replicas, first, nowMs);
    }

    /// <summary>The index of the replica to try first, or -1 when there is none.</summary>
    public static int ChooseFirst(IReadOnlyList<Replica> replicas, long nowMs, Random random, bool isRead)
    {
        var n = replicas.Count;
        if (n <= 1) return n - 1;
        // Health changes under our feet (probes, failures): decide on one snapshot of it.
        Span<bool> available = n <= 64 ? stackalloc bool[n] : new bool[n];
        var availableCount = Snapshot(replicas, nowMs, available);
        if (!isRead) return ReplicaChoice.OneCandidate(available, availableCount, random);
        var (a, b) = ReplicaChoice.TwoCandidates(available, availableCount, random);
        return replicas[b].Outstanding < replicas[a].Outstanding ? b : a;
    }

    /// <summary>
    /// <paramref name="first"/>, then the other replicas in view order after it: the available ones (as of
    /// <paramref name="nowMs"/>), then the ruled-out ones.
    /// </summary>
    public static Replica[] AttemptOrder(IReadOnlyList<Replica> replicas, int first, long nowMs)
    {
        var n = replicas.Count;
        Span<bool> available = n <= 64 ? stackalloc bool[n] : new bool[n];
        Snapshot(replicas, nowMs, available);
        Span<int> indices = n <= 64 ? stackalloc int[n] : new int[n];
        ReplicaChoice.AttemptOrder(available, first, indices);
        var order = new Replica[n];
        for (var i = 0; i < n; i++) order[i] = replicas[indices[i]];
        return order;
    }

    private static int Snapshot(IReadOnlyList<Replica> replicas, long nowMs, Span<bool> available)
    {
        var count = 0;
        for (var i = 0; i < available.Length; i++)
        {
            available[i] = replicas[i].Health.IsAvailable(nowMs);
            if (available[i]) count++;
        }
        return count;
    }
}
