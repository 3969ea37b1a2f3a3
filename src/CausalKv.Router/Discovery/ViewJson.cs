using System.Text.Json;
using CausalKv.Sharding;

namespace CausalKv.Router.Discovery;

/// <summary>
/// The view's wire form, <c>{"Shard1": [{"address": "host:port", "id": 0}, ...], ...}</c>, read with the nodes' rules
/// (re-implemented here: the router does not reference the node) and written the way the nodes write it.
/// </summary>
internal static class ViewJson
{
    /// <summary>Reads a layout and validates it as a view of <paramref name="epoch"/>; the error says what is wrong.</summary>
    public static bool TryRead(JsonElement view, long epoch, out ShardView? result, out string? error)
    {
        result = null;
        if (view.ValueKind != JsonValueKind.Object)
        {
            error = "The body needs a \"view\" object: {\"view\": {\"Shard1\": [{\"address\": \"host:port\", \"id\": 0}]}}.";
            return false;
        }
        var shards = new Dictionary<string, IReadOnlyList<ViewNode>>(StringComparer.Ordinal);
        foreach (var shard in view.EnumerateObject())
        {
            if (shards.ContainsKey(shard.Name)) { error = $"Shard '{shard.Name}' appears twice."; return false; }
            if (shard.Value.ValueKind != JsonValueKind.Array) { error = $"Shard '{shard.Name}' must be a list of nodes."; return false; }
            var nodes = new List<ViewNode>();
            foreach (var n in shard.Value.EnumerateArray())
            {
                if (n.ValueKind != JsonValueKind.Object
                    || !n.TryGetProperty("address", out var a) || a.ValueKind != JsonValueKind.String
                    || !n.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out var nodeId) || nodeId < 0)
                {
                    error = $"Every node of shard '{shard.Name}' needs a string \"address\" (host:port) and a non-negative integer \"id\".";
                    return false;
                }
                nodes.Add(new ViewNode(a.GetString()!, nodeId));
            }
            shards[shard.Name] = nodes;
        }
        if (!ShardView.TryCreate(epoch, shards, out result, out error))
        {
            error = "Malformed view: " + error;
            return false;
        }
        return true;
    }

    /// <summary>Reads a node's <c>GET /view</c> answer: its epoch, and its view when it has one.</summary>
    public static bool TryReadNodeAnswer(ReadOnlySpan<byte> json, out long epoch, out ShardView? view)
    {
        epoch = 0;
        view = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("epoch", out var e) || e.ValueKind != JsonValueKind.Number
                || !e.TryGetInt64(out epoch) || epoch < 0) return false;
            if (root.TryGetProperty("view", out var v) && v.ValueKind == JsonValueKind.Object)
            {
                return TryRead(v, epoch, out view, out _);
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Writes the layout of <paramref name="view"/>, shards in name order, replicas in view order.</summary>
    public static void Write(Utf8JsonWriter writer, ShardView view)
    {
        writer.WriteStartObject();
        foreach (var shard in view.ShardNames)
        {
            writer.WriteStartArray(shard);
            foreach (var node in view.NodesOf(shard))
            {
                writer.WriteStartObject();
                writer.WriteString("address", node.Address);
                writer.WriteNumber("id", node.Id);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }
}
