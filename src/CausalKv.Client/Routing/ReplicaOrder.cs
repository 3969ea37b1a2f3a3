// ReplicaOrder: the order in which one shard's replicas are tried for one request.
//
// The choice itself is the core's ReplicaChoice, shared with the router; here the load is this client's requests in flight.
// Invariants: every replica of the shard appears exactly once; the first is, for a read, the less loaded (fewer requests
// of this client in flight) of two replicas drawn at random among the available ones, and for a write one drawn at
// random among them; among all of them when none is available (a shard whose replicas all failed lately is still tried
// rather than given up); the others follow in view order after the first, available ones before penalized ones, so a
// connect failure moves on to the next replica.
using CausalKv.Sharding;

namespace CausalKv.Client.Routing;

/// <summary>Which replica of a shard takes a request, and which ones after it when it cannot be reached. No I/O.</summary>
internal static class ReplicaOrder
{
    public static ReplicaEndpoint[] For(IReadOnlyList<ReplicaEndpoint> replicas, long nowMs, Random random, bool isRead)
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
        int first;
        if (isRead)
        {
            var (a, b) = ReplicaChoice.TwoCandidates(available, availableCount, random);
            first = replicas[b].Outstanding < replicas[a].Outstanding ? b : a;
        }
        else first = ReplicaChoice.OneCandidate(available, availableCount, random);
        Span<int> indices = n <= 64 ? stackalloc int[n] : new int[n];
        ReplicaChoice.AttemptOrder(available, first, indices);
        var order = new ReplicaEndpoint[n];
        for (var i = 0; i < n; i++) order[i] = replicas[indices[i]];
        return order;
    }
}
