using CausalKv.Node.Configuration;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Api;

/// <summary>
/// Which replica of another shard a forwarded request goes to, apart from how it travels there: the shard's replicas
/// in turn, each request starting one further than the last so the load spreads; a replica that does not answer (or
/// serves no data) is skipped for the next; when none answers, a pause and another round (the shard is cut off, not
/// gone) until the deadline passes or the client leaves. A request forwarded <see cref="MaxHops"/> times already is
/// not forwarded again: the nodes disagree about the view. The node's HTTP forwarder (<see cref="ShardForwarder"/>)
/// and a simulation of the node send through this one rotation.
/// </summary>
public sealed class ReplicaRotation(IOptions<NodeOptions> options, TimeProvider time)
{
    public const int MaxHops = 3;
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(200);
    private readonly TimeSpan _deadline = options.Value.CausalWaitDeadline;
    private int _rotation;

    /// <summary>How long a request keeps trying the replicas of a shard before it gives up.</summary>
    public TimeSpan Deadline => _deadline;

    /// <summary>The answer (508) to a request that already made <paramref name="hops"/> hops, or null when it may make another.</summary>
    public static string? LoopDetected(int hops, string shard) =>
        hops >= MaxHops
            ? $"The request was forwarded {hops} times without reaching shard '{shard}': the nodes disagree about the view; retry once the view change finished."
            : null;

    /// <summary>Sends to the replicas of a shard in turn until one answers.</summary>
    /// <param name="attempt">sends the request to one replica: its answer, or null when it did not answer or serves no data</param>
    /// <returns>the first answer with the replica that gave it, or a null answer when none came by the deadline; and how many attempts were made</returns>
    public async Task<(T? Answer, ViewNode? Target, int Attempts)> SendAsync<T>(IReadOnlyList<ViewNode> replicas, Func<ViewNode, Task<T?>> attempt,
        CancellationToken ct) where T : class
    {
        var started = time.GetTimestamp();
        var attempts = 0;
        while (!ct.IsCancellationRequested)
        {
            var first = Interlocked.Increment(ref _rotation);
            for (var i = 0; i < replicas.Count; i++)
            {
                var target = replicas[(int)((uint)(first + i) % (uint)replicas.Count)];
                attempts++;
                if (await attempt(target) is { } answer) return (answer, target, attempts);
            }
            if (time.GetElapsedTime(started) > _deadline) break;
            try { await Task.Delay(Pause, time, ct); } catch (OperationCanceledException) { break; }
        }
        return (null, null, attempts);
    }
}
