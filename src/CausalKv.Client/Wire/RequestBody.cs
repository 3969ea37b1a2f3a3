using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace CausalKv.Client.Wire;

/// <summary>Writes a data request's body: <c>{"value": ..., "causal-metadata": ...}</c>, the metadata verbatim.</summary>
internal static class RequestBody
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    /// <summary>The body, or null when there is nothing to send (no value and a session that depends on nothing).</summary>
    public static byte[]? Write(string? value, string? metadata)
    {
        if (value is null && metadata is null) return null;
        var buffer = new ArrayBufferWriter<byte>(64 + (value?.Length ?? 0) + (metadata?.Length ?? 0));
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            if (value is not null) writer.WriteString("value"u8, value);
            if (metadata is not null)
            {
                writer.WritePropertyName("causal-metadata"u8);
                writer.WriteRawValue(metadata, skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
