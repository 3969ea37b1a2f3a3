namespace CausalKv.AppHost.Telemetry;

/// <summary>The log records received, at most <see cref="TelemetryLimits.MaxLogsPerResource"/> per resource, oldest dropped first.</summary>
internal sealed class LogStore(TelemetryLimits limits, Func<TelemetryResource, string> nameOf)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<StoredLog>> _byResource = new(StringComparer.Ordinal);

    public void Add(IEnumerable<StoredLog> logs)
    {
        lock (_gate)
        {
            foreach (var log in logs)
            {
                if (!_byResource.TryGetValue(log.Resource.Key, out var queue)) _byResource[log.Resource.Key] = queue = new();
                queue.Enqueue(log);
                while (queue.Count > limits.MaxLogsPerResource) queue.Dequeue();
            }
        }
    }

    public int CountFor(string resourceKey)
    {
        lock (_gate) return _byResource.TryGetValue(resourceKey, out var q) ? q.Count : 0;
    }

    /// <summary>Records passing <paramref name="query"/>, newest first.</summary>
    public IReadOnlyList<StoredLog> Query(LogQuery query)
    {
        List<StoredLog> hits = [];
        lock (_gate)
        {
            foreach (var queue in _byResource.Values)
                foreach (var log in queue)
                    if (query.Matches(log, nameOf(log.Resource))) hits.Add(log);
        }
        return hits.OrderByDescending(l => l.TimeNanos).Take(Math.Max(1, query.Limit)).ToArray();
    }
}
