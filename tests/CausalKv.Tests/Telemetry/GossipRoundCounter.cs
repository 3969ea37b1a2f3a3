using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CausalKv.Node.Telemetry;

namespace CausalKv.Tests.Telemetry;

/// <summary>Listens to the <c>causalkv.gossip.rounds</c> counter of one meter factory and sums it by the <c>moved</c> attribute.</summary>
internal sealed class GossipRoundCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(bool Moved, string Outcome), long> _counts = new();

    public GossipRoundCounter(IMeterFactory meters)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Meter.Name == NodeTelemetry.Name && instrument.Name == "causalkv.gossip.rounds")
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            bool? moved = null;
            string? outcome = null;
            foreach (var tag in tags)
            {
                if (tag.Key == NodeTelemetry.Tags.Moved) moved = (bool?)tag.Value;
                if (tag.Key == NodeTelemetry.Tags.MetricOutcome) outcome = (string?)tag.Value;
            }
            _counts.AddOrUpdate((moved ?? throw new InvalidOperationException("a round counted without 'moved'"), outcome ?? "?"), value, (_, n) => n + value);
        });
        _listener.Start();
    }

    public long Count(bool moved) => _counts.Where(c => c.Key.Moved == moved).Sum(c => c.Value);

    public long Count(bool moved, string outcome) => _counts.GetValueOrDefault((moved, outcome));

    public void Dispose() => _listener.Dispose();
}
