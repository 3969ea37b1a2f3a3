using System.Text.Json;
using CausalKv.Router.Discovery;
using CausalKv.Sharding;

namespace CausalKv.Router.Api;

/// <summary>
/// Parses a <c>PUT /view</c> body, <c>{"view": {"Shard1": [{"address": "host:port", "id": 0}, ...]}, "epoch": n?}</c>,
/// with the nodes' rules and messages, so that a view the router accepts is one every node accepts.
/// </summary>
internal static class ViewRequest
{
    public static bool TryParse(ReadOnlySpan<byte> body, out ShardView? layout, out long? epoch, out string? error)
    {
        layout = null;
        epoch = null;
        if (body.Trim(" \t\r\n"u8).IsEmpty) return ViewJson.TryRead(default, 0, out layout, out error);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            error = $"The body is not valid JSON ({e.Message}). Send {{\"view\": {{\"Shard1\": [{{\"address\": \"host:port\", \"id\": 0}}]}}}}.";
            return false;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "The body must be a JSON object.";
                return false;
            }
            if (root.TryGetProperty("epoch", out var e) && e.ValueKind != JsonValueKind.Null)
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var given) || given < 1)
                {
                    error = "\"epoch\", when given, must be a positive integer.";
                    return false;
                }
                epoch = given;
            }
            return ViewJson.TryRead(root.TryGetProperty("view", out var v) ? v : default, epoch ?? 0, out layout, out error);
        }
    }
}
