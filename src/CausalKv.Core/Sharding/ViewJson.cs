using System.Text.Json;

namespace CausalKv.Sharding;

/// <summary>
/// The view's wire form, <c>{"view": {"Shard1": [{"address": "host:port", "id": 0}, ...]}, "epoch": n?}</c>, read and
/// written the same way by nodes, the router and the AppHost, so that a view one of them accepts is one all accept and
/// every refusal says the same thing.
/// </summary>
public static class ViewJson
{
    private const string Example = "{\"view\": {\"Shard1\": [{\"address\": \"host:port\", \"id\": 0}]}}";

    /// <summary>
    /// Parses a <c>PUT /view</c> body. <paramref name="epoch"/> is the epoch the body asks for, or null when it names
    /// none (the receiver then takes the next one); the error says what is wrong.
    /// </summary>
    public static bool TryParseRequest(ReadOnlySpan<byte> body, out ShardView? layout, out long? epoch, out string? error)
    {
        layout = null;
        epoch = null;
        if (body.Trim(" \t\r\n"u8).IsEmpty) return TryReadLayout(default, 0, out layout, out error);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            error = $"The body is not valid JSON ({e.Message}). Send {Example}.";
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
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var given) || given < 1 || given > ShardView.MaxEpoch)
                {
                    error = $"\"epoch\", when given, must be a positive integer of at most {ShardView.MaxEpoch} (2^53), so that a next epoch always exists.";
                    return false;
                }
                epoch = given;
            }
            return TryReadLayout(root.TryGetProperty("view", out var v) ? v : default, epoch ?? 0, out layout, out error);
        }
    }

    /// <summary>Reads a layout (the value of <c>"view"</c>) and validates it as a view of <paramref name="epoch"/>.</summary>
    public static bool TryReadLayout(JsonElement view, long epoch, out ShardView? result, out string? error)
    {
        result = null;
        if (view.ValueKind != JsonValueKind.Object)
        {
            error = $"The body needs a \"view\" object: {Example}.";
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
                return TryReadLayout(v, epoch, out view, out _);
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The departed nodes a node's <c>GET /view</c> answer names in <c>departed</c>
    /// (<c>[{"id": 3, "address": "host:port", "leftAt": 7}]</c>): nodes its views left out that its fence still waits
    /// for. Entries that are not well formed are skipped, and at most <see cref="DepartedNodes.MaxKept"/> are read.
    /// </summary>
    public static IReadOnlyList<DepartedNode> ReadDeparted(JsonElement answer)
    {
        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("departed", out var list) || list.ValueKind != JsonValueKind.Array) return [];
        var departed = new List<DepartedNode>();
        foreach (var entry in list.EnumerateArray().Take(DepartedNodes.MaxKept))
        {
            if (entry.ValueKind == JsonValueKind.Object
                && entry.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var nodeId) && nodeId >= 0
                && entry.TryGetProperty("address", out var address) && address.ValueKind == JsonValueKind.String && NodeAddress.Error(address.GetString()) is null
                && entry.TryGetProperty("leftAt", out var leftAt) && leftAt.ValueKind == JsonValueKind.Number && leftAt.TryGetInt64(out var epoch) && epoch > 0)
                departed.Add(new DepartedNode(new ViewNode(address.GetString()!, nodeId), epoch));
        }
        return departed;
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
