using System.Text.Json;
using CausalKv.Causality;

namespace CausalKv.Node.Api;

/// <summary>Writes the data API's JSON answers straight to the response, without intermediate objects.</summary>
internal static class JsonResponses
{
    private static readonly JsonWriterOptions Options = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>What a buffer for an answer starts at: a session's answer and its metadata, as a rule, fit.</summary>
    private const int AnswerBytes = 2048;

    public static async Task WriteAsync(HttpResponse response, int status, Action<Utf8JsonWriter> body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        using var buffer = new PooledBufferWriter(AnswerBytes);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory);
    }

    public static Task ErrorAsync(HttpResponse response, int status, string error) => CausalKv.Http.JsonErrors.WriteAsync(response, status, error);

    public static void Metadata(Utf8JsonWriter writer, CausalMetadataCodec codec, DependencySet deps)
    {
        writer.WritePropertyName("causal-metadata");
        codec.Write(writer, deps);
    }

    /// <summary>An answer streamed in chunks of about this many bytes: its size is not known, nor held, up front.</summary>
    public const int StreamChunkBytes = 32 * 1024;

    /// <summary>A writer straight into the response's pipe, for answers written as they are read.</summary>
    public static Utf8JsonWriter StreamWriter(HttpResponse response) => new(response.BodyWriter, Options);

    /// <summary>Hands what <paramref name="writer"/> holds to the response and sends it.</summary>
    public static async ValueTask FlushAsync(Utf8JsonWriter writer, HttpResponse response, CancellationToken ct)
    {
        writer.Flush();
        await response.BodyWriter.FlushAsync(ct);
    }
}
