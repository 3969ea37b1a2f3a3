namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// The spans received, at most <see cref="TelemetryLimits.MaxSpansPerResource"/>
/// per resource (oldest dropped first), indexed by trace so a trace spanning the
/// router and several nodes is assembled without a scan. Invariant: a span is in
/// the trace index exactly while it is in its resource's queue.
/// </summary>
internal sealed class SpanStore(TelemetryLimits limits, Func<TelemetryResource, string> nameOf)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<StoredSpan>> _byResource = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<StoredSpan>> _byTrace = new(StringComparer.Ordinal);

    public void Add(IEnumerable<StoredSpan> spans)
    {
        lock (_gate)
        {
            foreach (var span in spans)
            {
                if (!_byResource.TryGetValue(span.Resource.Key, out var queue)) _byResource[span.Resource.Key] = queue = new();
                queue.Enqueue(span);
                if (!_byTrace.TryGetValue(span.TraceId, out var trace)) _byTrace[span.TraceId] = trace = [];
                trace.Add(span);
                while (queue.Count > limits.MaxSpansPerResource) Forget(queue.Dequeue());
            }
        }
    }

    private void Forget(StoredSpan span)
    {
        if (!_byTrace.TryGetValue(span.TraceId, out var trace)) return;
        // By reference: spans are records, and value equality would compare every field for nothing.
        var i = trace.FindIndex(s => ReferenceEquals(s, span));
        if (i >= 0) trace.RemoveAt(i);
        if (trace.Count == 0) _byTrace.Remove(span.TraceId);
    }

    public int CountFor(string resourceKey)
    {
        lock (_gate) return _byResource.TryGetValue(resourceKey, out var q) ? q.Count : 0;
    }

    public int Count
    {
        get { lock (_gate) return _byResource.Values.Sum(q => q.Count); }
    }

    /// <summary>The spans of one trace, in start order; empty when none is kept.</summary>
    public IReadOnlyList<StoredSpan> Trace(string traceId)
    {
        lock (_gate)
            return _byTrace.TryGetValue(traceId.ToLowerInvariant(), out var spans) ? spans.OrderBy(s => s.StartNanos).ToArray() : [];
    }

    /// <summary>One span, if kept (links name spans of other traces: a wait links to the push that satisfied it).</summary>
    public StoredSpan? Find(string traceId, string spanId)
    {
        lock (_gate)
            return _byTrace.TryGetValue(traceId, out var spans) ? spans.FirstOrDefault(s => s.SpanId == spanId) : null;
    }

    /// <summary>Traces with a span passing <paramref name="query"/>, newest first.</summary>
    public IReadOnlyList<TraceSummary> Query(TraceQuery query)
    {
        List<(ulong Start, StoredSpan[] Spans, StoredSpan[] Matched)> hits = [];
        lock (_gate)
        {
            foreach (var trace in _byTrace.Values)
            {
                StoredSpan[]? matched = null;
                foreach (var span in trace)
                {
                    if (!query.Matches(span, nameOf(span.Resource))) continue;
                    matched = trace.Where(s => query.Matches(s, nameOf(s.Resource))).ToArray();
                    break;
                }
                if (matched is null) continue;
                hits.Add((trace.Min(s => s.StartNanos), trace.ToArray(), matched));
            }
        }
        return hits.OrderByDescending(h => h.Start).Take(Math.Max(1, query.Limit)).Select(h => Summarize(h.Spans, h.Matched)).ToArray();
    }

    private TraceSummary Summarize(StoredSpan[] spans, StoredSpan[] matched)
    {
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        // The root is the span whose parent is not here; spans still in flight elsewhere may leave several, take the earliest.
        var root = spans.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).MinBy(s => s.StartNanos) ?? spans[0];
        var start = spans.Min(s => s.StartNanos);
        var end = spans.Max(s => s.EndNanos);
        return new TraceSummary(
            root.TraceId, start / 1e6, end > start ? (end - start) / 1e6 : 0,
            nameOf(root.Resource), root.Name, spans.Length, spans.Count(s => s.IsError),
            spans.Select(s => nameOf(s.Resource)).Distinct().Order(StringComparer.Ordinal).ToArray(),
            matched.OrderBy(s => s.StartNanos).Take(5)
                .Select(s => new MatchedSpan(s.SpanId, nameOf(s.Resource), s.Name, s.DurationMs, s.Attributes)).ToArray());
    }
}
