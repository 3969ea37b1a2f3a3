using System.Buffers;
using System.Text.Json;
using CausalKv.Causality;

namespace CausalKv.Node.Api;

/// <summary>Writes the data API's JSON answers straight to the response, without intermediate objects.</summary>
internal static class JsonResponses
{
    private static readonly JsonWriterOptions Options = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpResponse response, int status, Action<Utf8JsonWriter> body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory);
    }

    public static Task ErrorAsync(HttpResponse response, int status, string error)
    {
        response.HttpContext.Items[Telemetry.RefusalAccounting.ReasonItem] = error;
        return WriteAsync(response, status, w => w.WriteString("error", error));
    }

    public static void Metadata(Utf8JsonWriter writer, CausalMetadataCodec codec, DependencySet deps)
    {
        writer.WritePropertyName("causal-metadata");
        codec.Write(writer, deps);
    }
}
