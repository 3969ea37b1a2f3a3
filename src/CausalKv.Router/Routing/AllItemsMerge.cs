using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using CausalKv.Causality;

namespace CausalKv.Router.Routing;

/// <summary>
/// Merges every shard's <c>GET /data</c> answer into the router's. Invariants: the items are the union of the
/// shards' items (keys in ordinal order); the metadata is the join of every shard's metadata, so a session that
/// depended on anything before the read still does, and now also depends on everything it read; the answer never
/// carries metadata of another cluster. If any shard answered an error, the router answers that error (status and
/// JSON) with the shard named, and no items: a partial listing would look complete. Each node caps its own answer; the
/// merge refuses (400) once the union passes the cluster's cap, so the router never holds more than that plus one shard's answer.
/// </summary>
internal static class AllItemsMerge
{
    public const string MetadataField = "causal-metadata";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static MergedAnswer Merge(IReadOnlyList<ShardAnswer> answers, CausalMetadataCodec codec, UnpagedCaps? caps = null)
    {
        var ordered = answers.OrderBy(a => a.Shard, StringComparer.Ordinal).ToList();
        var failed = ordered.FirstOrDefault(a => a.Status is < 200 or > 299);
        if (failed is not null) return ShardError(failed);

        var items = new SortedDictionary<string, string>(CausalKv.Storage.KeyOrder.Instance);
        var deps = DependencySet.Empty;
        long bytes = 0;
        foreach (var answer in ordered)
        {
            if (!TryRead(answer, codec, items, ref deps, ref bytes, out var problem))
            {
                return Error(StatusCodes.Status502BadGateway, answer.Shard,
                    $"shard '{answer.Shard}' answered GET /data with something the router cannot read ({problem}).");
            }
            if (caps is not null && (items.Count > caps.Items || bytes > caps.Bytes)) return Error(StatusCodes.Status400BadRequest, null, caps.Refusal);
        }
        return new MergedAnswer(StatusCodes.Status200OK, Write(w =>
        {
            w.WriteStartObject("items");
            foreach (var (key, value) in items) w.WriteString(key, value);
            w.WriteEndObject();
            w.WritePropertyName(MetadataField);
            codec.Write(w, deps);
        }));
    }

    private static bool TryRead(ShardAnswer answer, CausalMetadataCodec codec, SortedDictionary<string, string> items, ref DependencySet deps, ref long bytes,
        out string? problem)
    {
        try
        {
            using var document = JsonDocument.Parse(answer.Body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("items", out var shardItems) || shardItems.ValueKind != JsonValueKind.Object)
            {
                problem = "no \"items\" object";
                return false;
            }
            foreach (var item in shardItems.EnumerateObject())
            {
                if (item.Value.ValueKind != JsonValueKind.String)
                {
                    problem = $"the value of '{item.Name}' is not a string";
                    return false;
                }
                var value = item.Value.GetString()!;
                if (items.TryAdd(item.Name, value)) bytes += System.Text.Encoding.UTF8.GetByteCount(item.Name) + System.Text.Encoding.UTF8.GetByteCount(value);
            }
            var metadata = root.TryGetProperty(MetadataField, out var m) ? m : default;
            if (!codec.TryRead(metadata, MetadataLimits.None, out var shardDeps, out problem, out _)) return false;
            deps = deps.Join(shardDeps);
            return true;
        }
        catch (JsonException e)
        {
            problem = "not JSON: " + e.Message;
            return false;
        }
    }

    /// <summary>The shard's own error answer with the shard named in its message and in a "shard" field; other fields (such as the metadata) kept.</summary>
    internal static MergedAnswer ShardError(ShardAnswer answer)
    {
        try
        {
            using var document = JsonDocument.Parse(answer.Body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var message = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                return new MergedAnswer(answer.Status, Write(w =>
                {
                    w.WriteString("error", $"shard '{answer.Shard}' answered {answer.Status}: {message ?? "(no message)"}");
                    w.WriteString("shard", answer.Shard);
                    foreach (var property in root.EnumerateObject())
                    {
                        if (property.NameEquals("error") || property.NameEquals("shard")) continue;
                        property.WriteTo(w);
                    }
                }));
            }
        }
        catch (JsonException)
        {
        }
        return Error(answer.Status, answer.Shard, $"shard '{answer.Shard}' answered {answer.Status} with a body that is not a JSON object.");
    }

    /// <summary>An error answer <c>{"error": ..., "shard": ...}</c> (no "shard" when the error is not one shard's).</summary>
    public static MergedAnswer Error(int status, string? shard, string message) =>
        new(status, Write(w =>
        {
            w.WriteString("error", message);
            if (shard is not null) w.WriteString("shard", shard);
        }));

    internal static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
