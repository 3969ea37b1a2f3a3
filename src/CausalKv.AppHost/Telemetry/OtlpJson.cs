using System.Text.Json.Nodes;
using Google.Protobuf;

namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// Reads OTLP/JSON with the protobuf JSON parser. OTLP/JSON differs from the
/// proto3 JSON mapping in one way that matters here: trace and span ids are hex,
/// not base64, so they are rewritten before parsing. (Enums as integers and
/// 64-bit numbers as strings or numbers are already accepted by the parser.)
/// </summary>
internal static class OtlpJson
{
    private static readonly HashSet<string> IdFields = new(StringComparer.Ordinal)
    {
        "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id",
    };

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static T Parse<T>(string json) where T : IMessage<T>, new()
    {
        var node = JsonNode.Parse(json) ?? throw new FormatException("The body is empty.");
        HexIdsToBase64(node);
        return Parser.Parse<T>(node.ToJsonString());
    }

    private static void HexIdsToBase64(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj.ToArray())
                {
                    if (value is null) continue;
                    if (IdFields.Contains(name) && value is JsonValue v && v.TryGetValue<string>(out var hex))
                        obj[name] = hex.Length == 0 ? "" : Convert.ToBase64String(Convert.FromHexString(hex));
                    else
                        HexIdsToBase64(value);
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                    if (item is not null) HexIdsToBase64(item);
                break;
        }
    }
}
