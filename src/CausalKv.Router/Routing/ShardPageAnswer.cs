using System.Text.Json;
using CausalKv.Causality;
using CausalKv.Paging;

namespace CausalKv.Router.Routing;

/// <summary>A node's answer to a paged <c>GET /data</c>: its items in order, its metadata, and where its shard's next page starts.</summary>
internal sealed record ShardPageAnswer(List<KeyValuePair<string, string>> Items, DependencySet Dependencies, string? Last, bool More)
{
    /// <summary>Reads the answer (one page, bounded by the node's page budget); a problem says what is wrong with it.</summary>
    public static bool TryRead(byte[] body, CausalMetadataCodec codec, out ShardPageAnswer? page, out string? problem)
    {
        page = null;
        problem = null;
        var items = new List<KeyValuePair<string, string>>();
        DependencySet? deps = null;
        string? last = null;
        var more = false;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return Problem("not a JSON object", out problem);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("items"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return Problem("\"items\" is not an object", out problem);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        if (!reader.Read() || reader.TokenType != JsonTokenType.String) return Problem($"the value of '{key}' is not a string", out problem);
                        items.Add(new(key, reader.GetString()!));
                    }
                }
                else if (reader.ValueTextEquals(AllItemsMerge.MetadataField))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    using var metadata = JsonDocument.Parse(body.AsMemory(start, (int)reader.BytesConsumed - start));
                    if (!codec.TryRead(metadata.RootElement, out var d, out problem)) return false;
                    deps = d;
                }
                else if (reader.ValueTextEquals("next-cursor"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null) continue;
                    if (reader.TokenType != JsonTokenType.String || !PageCursor.TryReadShard(reader.GetString()!, out last, out problem))
                        return Problem("its next-cursor is not a node's cursor", out problem);
                    more = true;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException e)
        {
            return Problem("not JSON: " + e.Message, out problem);
        }
        if (deps is null) return Problem("no causal-metadata", out problem);
        page = new ShardPageAnswer(items, deps, last, more);
        return true;
    }

    private static bool Problem(string what, out string? problem)
    {
        problem = what;
        return false;
    }
}
