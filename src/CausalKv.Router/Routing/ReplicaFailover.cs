using System.Diagnostics;
using CausalKv.Router.Discovery;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Routing;

/// <summary>
/// Sends one request to one shard, whichever replica can take it. Invariants: only replicas of the shard that owns
/// the request under the current view are ever tried (the shard is re-computed each round, so a view change is
/// followed); a replica is tried again only after every other replica of the shard was tried; a replica that could
/// not be connected to is ruled out for a few seconds (passive health). When a whole round fails the request pauses
/// and tries again, until the deadline or until the client leaves: a shard that is cut off is not gone.
/// </summary>
internal sealed class ReplicaFailover(ViewTracker views, IOptions<RouterOptions> options, RouterTelemetry telemetry, ILogger<ReplicaFailover> log)
{
    private readonly TimeSpan _deadline = options.Value.UnreachableDeadline;
    private readonly TimeSpan _pause = options.Value.RetryPause;
    private readonly TimeSpan _penalty = options.Value.PassiveHealthPenalty;

    /// <param name="request">Which shard, and how to send to one of its replicas.</param>
    /// <param name="ct">The client's RequestAborted.</param>
    public async Task<FailoverResult> RunAsync<TRequest>(TRequest request, CancellationToken ct) where TRequest : IShardRequest
    {
        var started = Stopwatch.GetTimestamp();
        var attempts = 0;
        while (true)
        {
            var map = views.Current;
            if (map.View is null) return new(FailoverStatus.NoView, null, attempts, Stopwatch.GetElapsedTime(started), null, FailoverResult.NoViewMessage);
            var shard = request.ShardOf(map);
            var replicas = map.ReplicasOf(shard);
            var first = ReplicaSelector.ChooseFirst(replicas, Environment.TickCount64, Random.Shared);
            // The rest of the order is only needed once the first choice could not take the request.
            Replica[]? order = null;
            for (var i = 0; i < replicas.Count; i++)
            {
                var replica = i == 0 ? replicas[first] : (order ??= ReplicaSelector.AttemptOrder(replicas, first, Environment.TickCount64))[i];
                if (ct.IsCancellationRequested) return new(FailoverStatus.Cancelled, shard, attempts, Stopwatch.GetElapsedTime(started), null);
                attempts++;
                bool answered;
                replica.Begin();
                try
                {
                    answered = await request.SendAsync(replica, shard);
                }
                finally
                {
                    replica.End();
                }
                if (answered) return new(FailoverStatus.Answered, shard, attempts, Stopwatch.GetElapsedTime(started), replica);
                NotConnected(replica, shard);
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed >= _deadline)
            {
                return new(FailoverStatus.Unreachable, shard, attempts, elapsed, null,
                    $"shard '{shard}' has no reachable replica (tried nodes {string.Join(", ", replicas.Select(r => r.Id))}, {attempts} attempts over {elapsed.TotalSeconds:0.#} s): it is cut off from the router or down; retry later.");
            }
            try
            {
                await Task.Delay(_pause < _deadline - elapsed ? _pause : _deadline - elapsed, ct);
            }
            catch (OperationCanceledException)
            {
                return new(FailoverStatus.Cancelled, shard, attempts, Stopwatch.GetElapsedTime(started), null);
            }
        }
    }

    /// <summary>Rules a replica out for a while after a forward to it failed or timed out.</summary>
    public void ReportFailure(Replica replica, string reason)
    {
        if (replica.Health.ReportFailure(Environment.TickCount64, _penalty))
        {
            telemetry.ReplicaEjections.Add(1, new KeyValuePair<string, object?>(RouterTelemetry.Tags.Node, replica.Id));
            log.LogWarning("Ruling out {Replica} for {Seconds:0.#} s: {Reason}", replica, _penalty.TotalSeconds, reason);
        }
    }

    private void NotConnected(Replica replica, string shard)
    {
        telemetry.ConnectFailures.Add(1,
            new KeyValuePair<string, object?>(RouterTelemetry.Tags.Shard, shard),
            new KeyValuePair<string, object?>(RouterTelemetry.Tags.Node, replica.Id));
        ReportFailure(replica, "could not connect (or was cut off during a read); trying the shard's next replica");
    }
}
