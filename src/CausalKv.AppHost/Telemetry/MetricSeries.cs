namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// One instrument of one resource: a bounded line of <see cref="MetricPoint"/>s
/// and the latest value per attribute set. Cumulative exports become per-interval
/// differences here, per attribute set; a set whose start time moved or whose
/// totals fell (the process restarted) starts again from zero instead of
/// producing a negative step.
/// </summary>
internal sealed class MetricSeries(TelemetryResource resource, string name, TelemetryLimits limits)
{
    private readonly Queue<MetricPoint> _points = new();
    private readonly Dictionary<string, SetState> _sets = new(StringComparer.Ordinal);

    public TelemetryResource Resource { get; } = resource;
    public string Name { get; } = name;
    public string Scope { get; private set; } = "";
    public string Unit { get; private set; } = "";
    public string Description { get; private set; } = "";
    public MetricKind Kind { get; private set; }

    public IReadOnlyList<MetricPoint> Points => _points.ToArray();

    public IReadOnlyList<AttributeSetValue> Latest => _sets.Values.Select(s => s.Latest).OfType<AttributeSetValue>().ToArray();

    /// <summary>Folds one export of this instrument into one point; the caller serialises calls.</summary>
    public void Record(MetricBatch batch)
    {
        (Scope, Unit, Description, Kind) = (batch.Scope, batch.Unit, batch.Description, batch.Kind);
        if (batch.Samples.Count == 0) return;
        double value = 0, interval = 0;
        ulong count = 0, time = 0;
        IReadOnlyList<double>? bounds = null;
        double[]? buckets = null;
        var bucketsAgree = true;
        var any = false;
        foreach (var sample in batch.Samples)
        {
            var key = SetKey(sample.Attributes);
            if (!_sets.TryGetValue(key, out var state))
            {
                if (_sets.Count >= limits.MaxAttributeSetsPerInstrument) continue;
                _sets[key] = state = new SetState();
            }
            any = true;
            var fresh = !batch.Cumulative || state.Latest is null || sample.StartNanos != state.StartNanos
                || (sample.Value < state.LastValue && batch.Kind is MetricKind.Counter or MetricKind.Histogram)
                || sample.Count < state.LastCount;
            var since = fresh ? sample.StartNanos : state.LastTimeNanos;
            if (sample.TimeNanos > since && since > 0) interval = Math.Max(interval, (sample.TimeNanos - since) / 1e9);
            switch (batch.Kind)
            {
                case MetricKind.Gauge:
                case MetricKind.UpDownCounter:
                    value += sample.Value;
                    break;
                case MetricKind.Counter:
                    value += fresh ? sample.Value : sample.Value - state.LastValue;
                    break;
                case MetricKind.Histogram:
                    value += fresh ? sample.Value : sample.Value - state.LastValue;
                    count += fresh ? sample.Count : sample.Count - state.LastCount;
                    if (sample.Bounds is { } b && sample.BucketCounts is { } c && c.Count == b.Count + 1)
                    {
                        if (bounds is null) { bounds = b; buckets = new double[c.Count]; }
                        else if (!bounds.SequenceEqual(b)) bucketsAgree = false;
                        if (bucketsAgree)
                        {
                            var previous = fresh || state.LastBuckets is null || state.LastBuckets.Length != c.Count ? null : state.LastBuckets;
                            for (var i = 0; i < c.Count; i++) buckets![i] += c[i] - (previous?[i] ?? 0d);
                        }
                        state.LastBuckets = c.Select(x => (double)x).ToArray();
                    }
                    else bucketsAgree = false;
                    break;
            }
            state.StartNanos = sample.StartNanos;
            state.LastTimeNanos = sample.TimeNanos;
            state.LastValue = sample.Value;
            state.LastCount = sample.Count;
            state.Latest = new AttributeSetValue(sample.Attributes, sample.TimeNanos / 1e6, sample.Value, sample.Count, sample.Min, sample.Max);
            time = Math.Max(time, sample.TimeNanos);
        }
        if (!any) return;
        _points.Enqueue(new MetricPoint(time / 1e6, interval, value, count, bucketsAgree ? bounds : null, bucketsAgree ? buckets : null));
        while (_points.Count > limits.MaxPointsPerSeries) _points.Dequeue();
    }

    private static string SetKey(IReadOnlyList<TelemetryAttribute> attributes) =>
        string.Join('\u001f', attributes.Select(a => a.Key + "\u001e" + a.Value).Order(StringComparer.Ordinal));

    private sealed class SetState
    {
        public ulong StartNanos;
        public ulong LastTimeNanos;
        public double LastValue;
        public ulong LastCount;
        public double[]? LastBuckets;
        public AttributeSetValue? Latest;
    }
}
