using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace CausalKv.Http;

/// <summary>The one shape of every error a node or the router answers: <c>{"error": "..."}</c>, marked for <see cref="RefusalMiddleware"/>.</summary>
public static class JsonErrors
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpResponse response, int status, string error)
    {
        response.HttpContext.Items[RefusalAccounting.ReasonItem] = error;
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            writer.WriteString("error", error);
            writer.WriteEndObject();
        }
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory);
    }
}
