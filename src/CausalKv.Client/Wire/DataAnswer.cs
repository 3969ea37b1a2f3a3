using System.Text;
using System.Text.Json;

namespace CausalKv.Client.Wire;

/// <summary>
/// A node's (or the router's) answer to a data request: <c>{"value", "causal-metadata", "error", "items", "next-cursor", "shard"}</c>,
/// each optional. The metadata is kept as the exact JSON text the store wrote: it is signed, and passed back verbatim.
/// </summary>
internal sealed class DataAnswer
{
    public required int Status { get; init; }

    /// <summary>The node said it serves no data (<c>X-CausalKv-Not-Serving</c>): nothing was applied.</summary>
    public bool NotServing { get; init; }

    public string? Value { get; private set; }

    public string? Metadata { get; private set; }

    public string? Error { get; private set; }

    public string? Shard { get; private set; }

    /// <summary>The items of a listing, in the order the store gave them.</summary>
    public List<KeyValuePair<string, string>>? Items { get; private set; }

    /// <summary>Where a paged listing goes on (<c>next-cursor</c>); null when it is done or the answer is not a page.</summary>
    public string? NextCursor { get; private set; }

    /// <summary>How long the replica held the request in a causal wait (<c>X-CausalKv-Waited-Ms</c>); null when it answered at once.</summary>
    public double? WaitedMs { get; set; }

    /// <summary>The epoch of the view the node answered under (<c>X-CausalKv-Epoch</c>); null from a router or an older node.</summary>
    public long? Epoch { get; set; }

    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>Reads an answer body; a body that is not a JSON object leaves every field empty and says so in <see cref="Error"/>.</summary>
    public static DataAnswer Read(int status, bool notServing, ReadOnlySpan<byte> body)
    {
        var answer = new DataAnswer { Status = status, NotServing = notServing };
        if (body.IsEmpty) return answer;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                answer.Error = Unreadable(status, body);
                return answer;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("value"u8))
                {
                    reader.Read();
                    answer.Value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("causal-metadata"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        answer.Metadata = Encoding.UTF8.GetString(body[start..(int)reader.BytesConsumed]);
                    }
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    answer.Error = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("shard"u8))
                {
                    reader.Read();
                    answer.Shard = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("items"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }
                    var items = new List<KeyValuePair<string, string>>();
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String) items.Add(new(key, reader.GetString()!));
                        else reader.Skip();
                    }
                    answer.Items = items;
                }
                else if (reader.ValueTextEquals("next-cursor"u8))
                {
                    reader.Read();
                    answer.NextCursor = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            answer.Error ??= Unreadable(status, body);
        }
        return answer;
    }

    private static string Unreadable(int status, ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body.Length > 200 ? body[..200] : body);
        return $"The store answered {status} with a body that is not a JSON object: {text}";
    }
}
