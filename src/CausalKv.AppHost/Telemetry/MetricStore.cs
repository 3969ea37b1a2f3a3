namespace CausalKv.AppHost.Telemetry;

/// <summary>The metrics received: one <see cref="MetricSeries"/> per resource and instrument, at most <see cref="TelemetryLimits.MaxInstrumentsPerResource"/> per resource.</summary>
internal sealed class MetricStore(TelemetryLimits limits)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, MetricSeries>> _byResource = new(StringComparer.Ordinal);

    public void Add(IEnumerable<MetricBatch> batches)
    {
        lock (_gate)
        {
            foreach (var batch in batches)
            {
                if (!_byResource.TryGetValue(batch.Resource.Key, out var instruments))
                    _byResource[batch.Resource.Key] = instruments = new(StringComparer.Ordinal);
                if (!instruments.TryGetValue(batch.Name, out var series))
                {
                    if (instruments.Count >= limits.MaxInstrumentsPerResource) continue;
                    instruments[batch.Name] = series = new MetricSeries(batch.Resource, batch.Name, limits);
                }
                series.Record(batch);
            }
        }
    }

    public int CountFor(string resourceKey)
    {
        lock (_gate) return _byResource.TryGetValue(resourceKey, out var i) ? i.Count : 0;
    }

    /// <summary>Every series, copied out as a snapshot (points and latest values are read under the lock).</summary>
    public IReadOnlyList<MetricSeriesSnapshot> Snapshot(string? instrument = null)
    {
        lock (_gate)
        {
            return _byResource.Values.SelectMany(i => i.Values)
                .Where(s => instrument is null || s.Name == instrument)
                .Select(s => new MetricSeriesSnapshot(s.Resource, s.Name, s.Scope, s.Unit, s.Description, s.Kind,
                    instrument is null ? [] : s.Points, instrument is null ? [] : s.Latest))
                .ToArray();
        }
    }
}

/// <summary>A copy of one series, safe to read outside the store's lock.</summary>
internal sealed record MetricSeriesSnapshot(
    TelemetryResource Resource, string Name, string Scope, string Unit, string Description, MetricKind Kind,
    IReadOnlyList<MetricPoint> Points, IReadOnlyList<AttributeSetValue> Latest);
