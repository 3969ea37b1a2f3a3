// CausalKvClientTelemetry: what the client reports to OpenTelemetry (or any ActivityListener / MeterListener).
//
// One span per operation, named "causalkv <operation>", with the key, the shard, the replica that answered, and how
// long that replica held the request in a causal wait; metrics for the duration of operations and for causal waits.
// Nothing is recorded unless someone listens.
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CausalKv.Client;

/// <summary>The names under which <see cref="CausalKvClient"/> reports traces and metrics.</summary>
public static class CausalKvClientTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> of the client's spans, and the name of its <see cref="Meter"/>.</summary>
    public const string SourceName = "CausalKv.Client";

    /// <summary>Histogram (s): how long an operation took, by <c>db.operation.name</c> and <c>causalkv.outcome</c>.</summary>
    public const string OperationDuration = "causalkv.client.operation.duration";

    /// <summary>Counter: reads a replica held in a causal wait before it answered (or gave up at its deadline).</summary>
    public const string CausalWaits = "causalkv.client.causal_waits";

    /// <summary>Histogram (s): how long those waits took at the replica.</summary>
    public const string CausalWaitDuration = "causalkv.client.causal_wait.duration";

    internal static readonly ActivitySource Source = new(SourceName, typeof(CausalKvClientTelemetry).Assembly.GetName().Version?.ToString());
    private static readonly Meter Meter = new(SourceName, typeof(CausalKvClientTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(OperationDuration, "s",
        "Duration of CausalKv client operations.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    private static readonly Counter<long> Waits = Meter.CreateCounter<long>(CausalWaits, "{wait}",
        "Requests a replica held until a write the session depends on arrived.");

    private static readonly Histogram<double> WaitDuration = Meter.CreateHistogram<double>(CausalWaitDuration, "s",
        "How long a replica held a request in a causal wait.");

    /// <summary>A span for one operation, started now (null when nobody listens).</summary>
    internal static Activity? Start(string operation, string? key)
    {
        if (!Source.HasListeners()) return null; // the common case: no span, and no name built for one
        var activity = Source.StartActivity(SpanName(operation), ActivityKind.Client);
        if (activity is null) return null;
        activity.SetTag("db.system.name", "causalkv");
        activity.SetTag("db.operation.name", operation);
        if (key is not null) activity.SetTag("causalkv.key", key);
        return activity;
    }

    private static string SpanName(string operation) => operation switch
    {
        "GET" => "causalkv GET",
        "PUT" => "causalkv PUT",
        "DELETE" => "causalkv DELETE",
        "GET_ALL" => "causalkv GET_ALL",
        _ => "causalkv " + operation,
    };

    /// <summary>Where the operation was answered: the key's shard (when the client routes) and the replica or router.</summary>
    internal static void Answered(Activity? activity, string? shard, Uri? replica, double? waitedMs)
    {
        if (waitedMs is { } ms)
        {
            Waits.Add(1);
            WaitDuration.Record(ms / 1000);
        }
        if (activity is null) return;
        if (shard is not null) activity.SetTag("causalkv.shard", shard);
        if (replica is not null)
        {
            activity.SetTag("server.address", replica.Host);
            activity.SetTag("server.port", replica.Port);
        }
        if (waitedMs is { } waited) activity.SetTag("causalkv.causal_wait_ms", waited);
    }

    /// <summary>Ends an operation: its duration by operation and outcome, and an error status on the span when it failed.</summary>
    internal static void Ended(Activity? activity, string operation, long startedTimestamp, string outcome, Exception? error = null)
    {
        Duration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
            new KeyValuePair<string, object?>("db.operation.name", operation), new KeyValuePair<string, object?>("causalkv.outcome", outcome));
        if (activity is null) return;
        activity.SetTag("causalkv.outcome", outcome);
        if (error is not null)
        {
            activity.SetTag("error.type", error.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
        }
        activity.Dispose();
    }

    /// <summary>The outcome name of a failure, for metrics.</summary>
    internal static string OutcomeOf(Exception e) => e switch
    {
        CausalWaitTimeoutException => "causal_wait_timeout",
        CausalKvRequestRefusedException => "refused",
        CausalKvShardUnreachableException => "unreachable",
        OperationCanceledException => "canceled",
        _ => "error",
    };
}
