using System.Diagnostics;
using System.Diagnostics.Metrics;
using CausalKv.Node.Replication;

namespace CausalKv.Node.Telemetry;

/// <summary>The node's one ActivitySource and one Meter; every span, attribute and instrument name is defined here.</summary>
public sealed class NodeTelemetry : IDisposable
{
    public const string Name = "CausalKv.Node";

    public static class Spans
    {
        public const string CausalWait = "causal.wait";
        /// <summary>A gossip round that moved data; rounds that found the pair in sync are only counted.</summary>
        public const string GossipRound = "gossip.round";
        public const string ReplicationPush = "replication.push";
        public const string Handoff = "handoff";
        public const string Forward = "forward";
    }

    public static class Tags
    {
        public const string Peer = "causalkv.peer";
        public const string Outcome = "causalkv.outcome";
        public const string BytesSent = "causalkv.bytes_sent";
        public const string BytesReceived = "causalkv.bytes_received";
        public const string EntriesToSend = "causalkv.entries_to_send";
        public const string EntriesToReceive = "causalkv.entries_to_receive";
        /// <summary>On <c>causalkv.gossip.rounds</c>: whether the round found writes missing on either side.</summary>
        public const string Moved = "moved";
        /// <summary>On metrics, where the <c>causalkv.</c> prefix would only repeat the instrument's name.</summary>
        public const string MetricOutcome = "outcome";
    }

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;

    public NodeTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        CausalWaitDuration = _meter.CreateHistogram<double>("causalkv.causal_wait.duration", "ms", "How long reads waited for a write they depend on.");
        GossipBytes = _meter.CreateCounter<long>("causalkv.gossip.bytes", "By", "Bytes of gossip digests sent and received.");
        GossipRounds = _meter.CreateCounter<long>("causalkv.gossip.rounds", "{round}",
            "Gossip rounds, by whether they moved data (moved=true; only those are traced) and outcome.");
        ReplicationBytes = _meter.CreateCounter<long>("causalkv.replication.bytes", "By", "Bytes of replication batches sent.");
        ReplicationWrites = _meter.CreateCounter<long>("causalkv.replication.writes", "{write}", "Writes pushed to peers.");
        HandoffKeys = _meter.CreateCounter<long>("causalkv.handoff.keys", "{key}", "Keys handed off to another shard.");
        ReplicationScans = _meter.CreateCounter<long>("causalkv.replication.scans", "{scan}",
            "Catch-ups of a peer by a scan of the store, begun because the replication log no longer reached back to its frontier.");
        ReplicationPushFailures = _meter.CreateCounter<long>("causalkv.replication.push_failures", "{push}",
            "Pushes a peer did not answer (each followed by a pause that doubles up to 5 s).");
    }

    public Histogram<double> CausalWaitDuration { get; }
    public Counter<long> GossipBytes { get; }
    public Counter<long> GossipRounds { get; }
    public Counter<long> ReplicationBytes { get; }
    public Counter<long> ReplicationWrites { get; }
    public Counter<long> HandoffKeys { get; }
    public Counter<long> ReplicationScans { get; }
    public Counter<long> ReplicationPushFailures { get; }

    /// <summary>
    /// Starts the span of one gossip round. It must be started before the round's request, so that the request runs
    /// inside it, even though whether it is worth exporting is only known from the answer.
    /// </summary>
    internal static Activity? StartGossipRound(int peer)
    {
        var round = Source.StartActivity(Spans.GossipRound, ActivityKind.Client);
        round?.SetTag(Tags.Peer, peer);
        return round;
    }

    /// <summary>
    /// Counts a finished round and keeps its span only when it moved data. An exporter only sees spans whose
    /// Recorded flag is still set when they stop (OpenTelemetry's export processors skip the others), so a round that
    /// moved nothing clears it here, before its span stops. The round's HTTP request makes no span on either side
    /// (ServiceDefaults filters <c>/internal/gossip</c> out of the HttpClient and ASP.NET Core instrumentation), so
    /// nothing of an unexported round is left to appear as an orphan.
    /// </summary>
    internal void EndGossipRound(Activity? round, GossipRoundOutcome outcome)
    {
        GossipRounds.Add(1,
            new KeyValuePair<string, object?>(Tags.Moved, outcome.MovedData),
            new KeyValuePair<string, object?>(Tags.MetricOutcome, outcome.Name));
        if (round is null) return;
        round.SetTag(Tags.Outcome, outcome.Name);
        round.SetTag(Tags.EntriesToSend, outcome.EntriesToSend);
        round.SetTag(Tags.EntriesToReceive, outcome.EntriesToReceive);
        if (!outcome.MovedData) Discard(round);
    }

    /// <summary>Keeps a span from being exported (it still runs, so trace context inside it stays intact).</summary>
    internal static void Discard(Activity? activity)
    {
        if (activity is null) return;
        activity.IsAllDataRequested = false;
        activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
    }

    /// <summary>Registers gauges that read live state.</summary>
    public void Observe(Func<long> keysHeld, Func<long> replicationLag)
    {
        _meter.CreateObservableGauge("causalkv.keys", keysHeld, "{key}", "Keys this node holds.");
        _meter.CreateObservableGauge("causalkv.replication.lag", replicationLag, "{write}", "Writes the slowest peer still lacks.");
    }

    /// <summary>Registers the gauges of the replication log: what it takes, and what went over its bound.</summary>
    public void ObserveReplicationLog(Func<long> logBytes, Func<long> entriesShed)
    {
        _meter.CreateObservableGauge("causalkv.replication.log.bytes", logBytes, "By",
            "Memory the replication log of keys takes (bounded by CausalKv:ReplicationLogMegabytes).");
        _meter.CreateObservableCounter("causalkv.replication.log.shed", entriesShed, "{write}",
            "Log entries dropped over the bound while a peer still lacked them; that peer catches up by a scan of the store.");
    }

    public void Dispose() => _meter.Dispose();
}
