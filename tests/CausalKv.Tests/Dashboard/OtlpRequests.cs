using CausalKv.AppHost.Telemetry.Otlp;
using Google.Protobuf;

namespace CausalKv.Tests.Dashboard;

/// <summary>OTLP export requests built with the receiver's generated types, as the services' exporter sends them.</summary>
internal static class OtlpRequests
{
    public static readonly ulong Now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public static Resource Resource(string service, string instance) => new()
    {
        Attributes = { Attribute("service.name", service), Attribute("service.instance.id", instance) },
    };

    public static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attribute(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static KeyValue Attribute(string key, double value) => new() { Key = key, Value = new AnyValue { DoubleValue = value } };

    public static byte[] Id(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static Span NewSpan(byte[] traceId, byte[] spanId, string name, double startMs, double durationMs, params KeyValue[] attributes)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId),
            Name = name,
            Kind = Span.Types.SpanKind.Internal,
            StartTimeUnixNano = Now + (ulong)(startMs * 1e6),
            EndTimeUnixNano = Now + (ulong)((startMs + durationMs) * 1e6),
        };
        span.Attributes.AddRange(attributes);
        return span;
    }

    public static ExportTraceServiceRequest Traces(Resource resource, params Span[] spans) => new()
    {
        ResourceSpans = { new ResourceSpans { Resource = resource, ScopeSpans = { new ScopeSpans { Scope = new InstrumentationScope { Name = "CausalKv.Node" }, Spans = { spans } } } } },
    };
}
