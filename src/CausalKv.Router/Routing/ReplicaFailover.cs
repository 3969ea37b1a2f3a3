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
/// Every replica given up on is a <c>failover</c> event on the caller's span (<c>route</c> or <c>read_all</c>), saying
/// which replica, why, and which is tried next.
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
        // The caller's span (route, read_all): failovers are events on it rather than spans of their own.
        var span = Activity.Current;
        var attempts = 0;
        while (true)
        {
            var map = views.Current;
            if (map.View is null) return new(FailoverStatus.NoView, null, attempts, Stopwatch.GetElapsedTime(started), null, FailoverResult.NoViewMessage);
            var shard = request.ShardOf(map);
            var replicas = map.ReplicasOf(shard);
            var first = ReplicaSelector.ChooseFirst(replicas, Environment.TickCount64, Random.Shared, request.IsRead);
            // The rest of the order is only needed once the first choice could not take the request.
            Replica[]? order = null;
            for (var i = 0; i < replicas.Count; i++)
            {
                var replica = i == 0 ? replicas[first] : (order ??= ReplicaSelector.AttemptOrder(replicas, first, Environment.TickCount64))[i];
                if (ct.IsCancellationRequested) return new(FailoverStatus.Cancelled, shard, attempts, Stopwatch.GetElapsedTime(started), null);
                attempts++;
                ReplicaAttempt attempt;
                replica.Begin();
                try
                {
                    attempt = await request.SendAsync(replica, shard);
                }
                finally
                {
                    replica.End();
                }
                if (attempt.WasTaken) return new(FailoverStatus.Answered, shard, attempts, Stopwatch.GetElapsedTime(started), replica);
                var reason = attempt.GaveUpBecause!;
                NotConnected(replica, shard, reason);
                var next = i + 1 < replicas.Count ? (order ??= ReplicaSelector.AttemptOrder(replicas, first, Environment.TickCount64))[i + 1] : null;
                var pause = next is null ? Pause(Stopwatch.GetElapsedTime(started)) : TimeSpan.Zero;
                Failover(span, shard, replica, reason, next, pause);
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed >= _deadline)
            {
                var nodes = string.Join(", ", replicas.Select(r => r.Id));
                RouterLog.ShardUnreachable(log, shard, nodes, attempts, elapsed.TotalSeconds);
                return new(FailoverStatus.Unreachable, shard, attempts, elapsed, null,
                    $"shard '{shard}' has no reachable replica (tried nodes {nodes}, {attempts} attempts over {elapsed.TotalSeconds:0.#} s): it is cut off from the router or down; retry later.");
            }
            try
            {
                await Task.Delay(Pause(elapsed), ct);
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
            RouterLog.ReplicaRuledOut(log, replica, _penalty.TotalSeconds, reason);
        }
    }

    /// <summary>How long to pause before the next round, once <paramref name="elapsed"/> went by: never past the deadline.</summary>
    private TimeSpan Pause(TimeSpan elapsed)
    {
        var left = _deadline - elapsed;
        return _pause < left ? _pause : left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private void NotConnected(Replica replica, string shard, string reason)
    {
        telemetry.ConnectFailures.Add(1,
            new KeyValuePair<string, object?>(RouterTelemetry.Tags.Shard, shard),
            new KeyValuePair<string, object?>(RouterTelemetry.Tags.Node, replica.Id));
        ReportFailure(replica, reason);
    }

    /// <summary>Records that <paramref name="failed"/> was given up on: an event on the caller's span, and a log entry.</summary>
    private void Failover(Activity? span, string shard, Replica failed, string reason, Replica? next, TimeSpan pause)
    {
        if (span is { IsAllDataRequested: true })
        {
            var tags = new ActivityTagsCollection
            {
                [RouterTelemetry.Tags.Shard] = shard,
                [RouterTelemetry.Tags.FailedNode] = failed.Id,
                [RouterTelemetry.Tags.FailoverReason] = reason,
            };
            if (next is not null) tags[RouterTelemetry.Tags.NextNode] = next.Id;
            else if (pause > TimeSpan.Zero) tags[RouterTelemetry.Tags.RetryInMs] = (long)pause.TotalMilliseconds;
            span.AddEvent(new ActivityEvent(RouterTelemetry.Events.Failover, tags: tags));
        }
        // A round in which every replica failed repeats until the deadline: the warning comes once, as ShardUnreachable.
        if (next is not null) RouterLog.Failover(log, shard, failed, reason, next);
        else RouterLog.ShardRoundFailed(log, shard, failed, reason, (long)pause.TotalMilliseconds);
    }
}
