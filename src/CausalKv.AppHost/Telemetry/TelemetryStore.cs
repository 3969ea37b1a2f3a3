namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// Everything the OTLP receiver took in, in memory and bounded by
/// <see cref="TelemetryLimits"/>: spans, logs and metrics grouped by resource
/// (<c>service.name</c> + <c>service.instance.id</c>). Nothing survives the AppHost.
/// </summary>
internal sealed class TelemetryStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TelemetryResource> _resources = new(StringComparer.Ordinal);
    // Display names, recomputed when a resource arrives: queries ask for one per span.
    private Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly TelemetryLimits _limits;

    public TelemetryStore(TelemetryLimits? limits = null)
    {
        _limits = limits ?? new TelemetryLimits();
        _limits.Validate();
        Spans = new SpanStore(_limits, NameOf);
        Logs = new LogStore(_limits, NameOf);
        Metrics = new MetricStore(_limits);
    }

    public SpanStore Spans { get; }

    public LogStore Logs { get; }

    public MetricStore Metrics { get; }

    public TelemetryLimits Limits => _limits;

    /// <summary>
    /// Registers the resource a batch names and returns the instance to keep (one per key, so
    /// stored items share it); null when <see cref="TelemetryLimits.MaxResources"/> are known already.
    /// </summary>
    public TelemetryResource? Admit(TelemetryResource resource)
    {
        lock (_gate)
        {
            if (_resources.TryGetValue(resource.Key, out var known)) return known;
            if (_resources.Count >= _limits.MaxResources) return null;
            _resources[resource.Key] = resource;
            Volatile.Write(ref _names, _resources.Values.ToDictionary(r => r.Key, r => DisplayName(r, _resources.Values), StringComparer.Ordinal));
            return resource;
        }
    }

    public IReadOnlyList<TelemetryResource> Resources
    {
        get { lock (_gate) return _resources.Values.OrderBy(r => r.ServiceName, StringComparer.Ordinal).ThenBy(r => r.InstanceId, StringComparer.Ordinal).ToArray(); }
    }

    /// <summary>
    /// What the pages call a resource: its service name, which the AppHost makes unique
    /// (node0, router); with the instance id appended when two instances share a name.
    /// </summary>
    public string NameOf(TelemetryResource resource) =>
        Volatile.Read(ref _names).TryGetValue(resource.Key, out var name) ? name : resource.ServiceName;

    private static string DisplayName(TelemetryResource resource, IEnumerable<TelemetryResource> all) =>
        all.Count(r => r.ServiceName == resource.ServiceName) > 1 && resource.InstanceId.Length > 0
            ? $"{resource.ServiceName}-{resource.InstanceId}"
            : resource.ServiceName;
}
