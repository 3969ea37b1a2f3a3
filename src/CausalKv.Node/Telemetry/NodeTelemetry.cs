using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CausalKv.Node.Telemetry;

/// <summary>The node's one ActivitySource and one Meter; every span and instrument name is defined here.</summary>
public sealed class NodeTelemetry : IDisposable
{
    public const string Name = "CausalKv.Node";

    public static class Spans
    {
        public const string CausalWait = "causal.wait";
        public const string GossipRound = "gossip.round";
        public const string ReplicationPush = "replication.push";
        public const string Handoff = "handoff";
        public const string Forward = "forward";
    }

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;

    public NodeTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        CausalWaitDuration = _meter.CreateHistogram<double>("causalkv.causal_wait.duration", "ms", "How long reads waited for a write they depend on.");
        GossipBytes = _meter.CreateCounter<long>("causalkv.gossip.bytes", "By", "Bytes of gossip digests sent and received.");
        ReplicationBytes = _meter.CreateCounter<long>("causalkv.replication.bytes", "By", "Bytes of replication batches sent.");
        ReplicationWrites = _meter.CreateCounter<long>("causalkv.replication.writes", "{write}", "Writes pushed to peers.");
        HandoffKeys = _meter.CreateCounter<long>("causalkv.handoff.keys", "{key}", "Keys handed off to another shard.");
    }

    public Histogram<double> CausalWaitDuration { get; }
    public Counter<long> GossipBytes { get; }
    public Counter<long> ReplicationBytes { get; }
    public Counter<long> ReplicationWrites { get; }
    public Counter<long> HandoffKeys { get; }

    /// <summary>Registers gauges that read live state.</summary>
    public void Observe(Func<long> keysHeld, Func<long> replicationLag)
    {
        _meter.CreateObservableGauge("causalkv.keys", keysHeld, "{key}", "Keys this node holds.");
        _meter.CreateObservableGauge("causalkv.replication.lag", replicationLag, "{write}", "Writes the slowest peer still lacks.");
    }

    public void Dispose() => _meter.Dispose();
}
