using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace CausalKv.Router.Api;

/// <summary>Writes the router's own JSON answers; every error is <c>{"error": "..."}</c>.</summary>
internal static class JsonResponses
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpResponse response, int status, Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        await WriteAsync(response, status, buffer.WrittenMemory);
    }

    public static async Task WriteAsync(HttpResponse response, int status, ReadOnlyMemory<byte> json)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = json.Length;
        await response.Body.WriteAsync(json);
    }

    /// <summary>An error answer; a 4xx is counted and logged (once a minute per kind) by <see cref="CausalKv.Http.RefusalMiddleware"/>.</summary>
    public static Task ErrorAsync(HttpResponse response, int status, string error) => CausalKv.Http.JsonErrors.WriteAsync(response, status, error);

    /// <summary>An answer streamed in chunks of about this many bytes: its size is not known, nor held, up front.</summary>
    public const int StreamChunkBytes = 32 * 1024;

    /// <summary>A writer straight into the response's pipe, for answers written as they arrive.</summary>
    public static Utf8JsonWriter StreamWriter(HttpResponse response) => new(response.BodyWriter, Options);

    /// <summary>Hands what <paramref name="writer"/> holds to the response and sends it.</summary>
    public static async ValueTask FlushAsync(Utf8JsonWriter writer, HttpResponse response, CancellationToken ct)
    {
        writer.Flush();
        await response.BodyWriter.FlushAsync(ct);
    }
}
