using System.Globalization;
using CausalKv.AppHost.Telemetry.Otlp;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// Turns OTLP export requests into what the stores keep: resources registered
/// once, ids as hex, attribute values as display strings, metric points in the
/// neutral <see cref="MetricBatch"/> form. Items of a resource the store refuses
/// (too many resources) are counted as rejected, as OTLP's partial success asks.
/// </summary>
internal static class OtlpMapping
{
    public static (List<StoredSpan> Spans, long Rejected) Spans(ExportTraceServiceRequest request, TelemetryStore store)
    {
        var spans = new List<StoredSpan>();
        long rejected = 0;
        foreach (var rs in request.ResourceSpans)
        {
            var resource = store.Admit(Resource(rs.Resource));
            foreach (var ss in rs.ScopeSpans)
            {
                if (resource is null) { rejected += ss.Spans.Count; continue; }
                var scope = ss.Scope?.Name ?? "";
                foreach (var s in ss.Spans)
                {
                    spans.Add(new StoredSpan(
                        resource, scope, Hex(s.TraceId), Hex(s.SpanId), s.ParentSpanId.IsEmpty ? null : Hex(s.ParentSpanId),
                        s.Name, Kind(s.Kind), s.StartTimeUnixNano, s.EndTimeUnixNano, Attributes(s.Attributes),
                        s.Events.Select(e => new SpanEvent(e.TimeUnixNano, e.Name, Attributes(e.Attributes))).ToArray(),
                        s.Links.Select(l => new SpanLink(Hex(l.TraceId), Hex(l.SpanId), Attributes(l.Attributes))).ToArray(),
                        s.Status?.Code switch
                        {
                            Status.Types.StatusCode.Error => SpanStatus.Error,
                            Status.Types.StatusCode.Ok => SpanStatus.Ok,
                            _ => SpanStatus.Unset,
                        },
                        string.IsNullOrEmpty(s.Status?.Message) ? null : s.Status.Message));
                }
            }
        }
        return (spans, rejected);
    }

    public static (List<StoredLog> Logs, long Rejected) Logs(ExportLogsServiceRequest request, TelemetryStore store)
    {
        var logs = new List<StoredLog>();
        long rejected = 0;
        foreach (var rl in request.ResourceLogs)
        {
            var resource = store.Admit(Resource(rl.Resource));
            foreach (var sl in rl.ScopeLogs)
            {
                if (resource is null) { rejected += sl.LogRecords.Count; continue; }
                var category = sl.Scope?.Name ?? "";
                foreach (var r in sl.LogRecords)
                {
                    var message = r.Body is null ? "" : Render(r.Body);
                    if (message.Length == 0) message = r.EventName;
                    logs.Add(new StoredLog(
                        resource, category, r.TimeUnixNano != 0 ? r.TimeUnixNano : r.ObservedTimeUnixNano,
                        r.SeverityNumber, r.SeverityText.Length > 0 ? r.SeverityText : SeverityName(r.SeverityNumber),
                        message, Attributes(r.Attributes),
                        r.TraceId.IsEmpty ? null : Hex(r.TraceId), r.SpanId.IsEmpty ? null : Hex(r.SpanId)));
                }
            }
        }
        return (logs, rejected);
    }

    public static (List<MetricBatch> Batches, long Rejected) Metrics(ExportMetricsServiceRequest request, TelemetryStore store)
    {
        var batches = new List<MetricBatch>();
        long rejected = 0;
        foreach (var rm in request.ResourceMetrics)
        {
            var resource = store.Admit(Resource(rm.Resource));
            foreach (var sm in rm.ScopeMetrics)
            {
                var scope = sm.Scope?.Name ?? "";
                foreach (var m in sm.Metrics)
                {
                    var batch = ToBatch(resource, scope, m);
                    if (batch is null) continue;
                    if (resource is null) { rejected += batch.Samples.Count; continue; }
                    batches.Add(batch);
                }
            }
        }
        return (batches, rejected);
    }

    private static MetricBatch? ToBatch(TelemetryResource? resource, string scope, Metric m)
    {
        var owner = resource ?? new TelemetryResource(TelemetryResource.UnknownService, "", []);
        MetricBatch Batch(MetricKind kind, bool cumulative, IEnumerable<MetricSample> samples) =>
            new(owner, scope, m.Name, m.Unit, m.Description, kind, cumulative, samples.ToArray());
        return m.DataCase switch
        {
            Metric.DataOneofCase.Gauge => Batch(MetricKind.Gauge, false, m.Gauge.DataPoints.Select(Number)),
            Metric.DataOneofCase.Sum => Batch(m.Sum.IsMonotonic ? MetricKind.Counter : MetricKind.UpDownCounter,
                m.Sum.AggregationTemporality == AggregationTemporality.Cumulative, m.Sum.DataPoints.Select(Number)),
            Metric.DataOneofCase.Histogram => Batch(MetricKind.Histogram,
                m.Histogram.AggregationTemporality == AggregationTemporality.Cumulative,
                m.Histogram.DataPoints.Select(p => new MetricSample(Attributes(p.Attributes), p.StartTimeUnixNano, p.TimeUnixNano,
                    p.HasSum ? p.Sum : 0, p.Count, p.ExplicitBounds.ToArray(), p.BucketCounts.ToArray(),
                    p.HasMin ? p.Min : null, p.HasMax ? p.Max : null))),
            Metric.DataOneofCase.ExponentialHistogram => Batch(MetricKind.Histogram,
                m.ExponentialHistogram.AggregationTemporality == AggregationTemporality.Cumulative,
                m.ExponentialHistogram.DataPoints.Select(p => new MetricSample(Attributes(p.Attributes), p.StartTimeUnixNano, p.TimeUnixNano,
                    p.HasSum ? p.Sum : 0, p.Count, Min: p.HasMin ? p.Min : null, Max: p.HasMax ? p.Max : null))),
            // Summaries are cumulative by definition (count and sum since start).
            Metric.DataOneofCase.Summary => Batch(MetricKind.Histogram, true,
                m.Summary.DataPoints.Select(p => new MetricSample(Attributes(p.Attributes), p.StartTimeUnixNano, p.TimeUnixNano, p.Sum, p.Count))),
            _ => null,
        };
    }

    private static MetricSample Number(NumberDataPoint p) => new(
        Attributes(p.Attributes), p.StartTimeUnixNano, p.TimeUnixNano,
        p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble);

    private static TelemetryResource Resource(Resource? resource)
    {
        var attributes = resource is null ? [] : Attributes(resource.Attributes);
        var name = attributes.FirstOrDefault(a => a.Key == "service.name")?.Value;
        var instance = attributes.FirstOrDefault(a => a.Key == "service.instance.id")?.Value ?? "";
        return new TelemetryResource(string.IsNullOrEmpty(name) ? TelemetryResource.UnknownService : name, instance, attributes);
    }

    private static TelemetryAttribute[] Attributes(RepeatedField<KeyValue> attributes) =>
        attributes.Select(a => new TelemetryAttribute(a.Key, a.Value is null ? "" : Render(a.Value))).ToArray();

    /// <summary>An attribute value as text: scalars plainly, arrays and maps in a JSON-like form.</summary>
    public static string Render(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Render)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => kv.Key + ": " + (kv.Value is null ? "" : Render(kv.Value)))) + "}",
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        _ => "",
    };

    public static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static string Kind(Span.Types.SpanKind kind) => kind switch
    {
        Span.Types.SpanKind.Server => "Server",
        Span.Types.SpanKind.Client => "Client",
        Span.Types.SpanKind.Producer => "Producer",
        Span.Types.SpanKind.Consumer => "Consumer",
        _ => "Internal",
    };

    /// <summary>OTLP's severity ranges (1-4 trace ... 21-24 fatal), named as .NET names log levels.</summary>
    public static string SeverityName(int number) => number switch
    {
        <= 0 => "Unspecified",
        <= 4 => "Trace",
        <= 8 => "Debug",
        <= 12 => "Information",
        <= 16 => "Warning",
        <= 20 => "Error",
        _ => "Critical",
    };
}
