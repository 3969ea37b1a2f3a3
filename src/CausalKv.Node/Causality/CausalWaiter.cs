using System.Diagnostics;
using CausalKv.Node.Configuration;
using CausalKv.Node.Telemetry;
using CausalKv.Protocol;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Causality;

public enum WaitOutcome { Satisfied, Deadline, ClientGone }

/// <summary>
/// Holds a read until what it depends on has arrived, the client has gone, or
/// the server deadline passed. Every wait that does not answer at once is a
/// <c>causal.wait</c> span saying what was missing and how long it waited.
/// </summary>
public sealed class CausalWaiter(ReplicaStore store, NodeTelemetry telemetry, IOptions<NodeOptions> options, TimeProvider time, ILogger<CausalWaiter> log)
{
    private readonly TimeSpan _deadline = options.Value.CausalWaitDeadline;

    public TimeSpan Deadline => _deadline;

    /// <param name="scope">the key, or "*" for the whole shard</param>
    /// <param name="missing">what the read still lacks, described for a person; null when it may answer</param>
    /// <param name="answer">the headers of the answer, which say how long a wait took (<see cref="ProtocolHeaders.CausalWait"/>)</param>
    public async Task<WaitOutcome> WaitAsync(string scope, Func<string?> missing, CancellationToken clientGone, IHeaderDictionary? answer = null)
    {
        var next = store.Changed.Next;
        var lacking = missing();
        if (lacking is null) return WaitOutcome.Satisfied;

        var started = time.GetTimestamp();
        using var activity = NodeTelemetry.Source.StartActivity(NodeTelemetry.Spans.CausalWait);
        activity?.SetTag("causalkv.scope", scope);
        activity?.SetTag("causalkv.missing", lacking);
        var outcome = WaitOutcome.Satisfied;
        try
        {
            while (lacking is not null)
            {
                var remaining = _deadline - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero) { outcome = WaitOutcome.Deadline; break; }
                try
                {
                    await next.WaitAsync(remaining, time, clientGone);
                }
                catch (TimeoutException) { outcome = WaitOutcome.Deadline; break; }
                catch (OperationCanceledException) { outcome = WaitOutcome.ClientGone; break; }
                next = store.Changed.Next;
                lacking = missing();
                if (lacking is null && store.Changed.LastCause is { } cause && activity is not null)
                    activity.AddLink(new ActivityLink(cause)); // the replication push or handoff that brought the missing write
            }
            return outcome;
        }
        finally
        {
            var waited = time.GetElapsedTime(started).TotalMilliseconds;
            telemetry.CausalWaitDuration.Record(waited, new KeyValuePair<string, object?>("outcome", Name(outcome)));
            activity?.SetTag("causalkv.waited_ms", Math.Round(waited, 1));
            if (answer is not null) answer[ProtocolHeaders.CausalWait] = Math.Round(waited, 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            activity?.SetTag("causalkv.outcome", Name(outcome));
            if (outcome == WaitOutcome.Deadline)
            {
                activity?.SetStatus(ActivityStatusCode.Error, "causal-wait deadline");
                NodeLog.CausalWaitDeadline(log, scope, (long)waited, (long)_deadline.TotalMilliseconds, lacking ?? "nothing");
            }
        }
    }

    private static string Name(WaitOutcome o) => o switch
    {
        WaitOutcome.Satisfied => "satisfied",
        WaitOutcome.Deadline => "deadline",
        _ => "client-gone",
    };
}
