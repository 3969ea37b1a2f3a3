using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CausalKv.Causality;

/// <summary>
/// A <see cref="Frontier"/> as the JSON object a <c>Dictionary&lt;long, long&gt;</c> makes: origins as decimal property
/// names, sequence numbers as numbers (<c>{"4294967297":12}</c>); null reads as the empty frontier.
/// </summary>
public sealed class FrontierJsonConverter : JsonConverter<Frontier>
{
    public override bool HandleNull => true;

    public override Frontier Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return Frontier.Empty;
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("A frontier is a JSON object.");
        var entries = new List<KeyValuePair<long, long>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (!long.TryParse(reader.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var origin))
                throw new JsonException("A frontier's origin is not a number.");
            reader.Read();
            entries.Add(new(origin, reader.GetInt64()));
        }
        return Frontier.Of(entries);
    }

    public override void Write(Utf8JsonWriter writer, Frontier value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        Span<char> name = stackalloc char[20];
        foreach (var (origin, seq) in value)
        {
            origin.TryFormat(name, out var length, provider: CultureInfo.InvariantCulture);
            writer.WriteNumber(name[..length], seq);
        }
        writer.WriteEndObject();
    }
}
