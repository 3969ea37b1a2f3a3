using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Node.Api;

/// <summary>Reads a request body up to a limit, refusing larger ones before reading them whole.</summary>
internal static class RequestBody
{
    public sealed class TooLargeException(long limit) : Exception($"The request body is larger than {limit} bytes.")
    {
        public long Limit { get; } = limit;
    }

    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.ContentLength > limit) throw new TooLargeException(limit);
        var feature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit + 1;
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 256, limit) + 1);
        try
        {
            while (true)
            {
                var memory = buffer.GetMemory(4096);
                var read = await request.Body.ReadAsync(memory, ct);
                if (read == 0) break;
                buffer.Advance(read);
                if (buffer.WrittenCount > limit) throw new TooLargeException(limit);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new TooLargeException(limit);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses a JSON object body; empty means "no body". Returns an error message for anything else.</summary>
    public static bool TryParseObject(byte[] body, out JsonDocument? document, out string? error)
    {
        document = null;
        error = null;
        if (body.Length == 0 || body.AsSpan().Trim(" \t\r\n"u8).IsEmpty) return true;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            error = $"The body is not valid JSON ({e.Message}). Send {{\"value\": \"...\", \"causal-metadata\": {{...}}}}.";
            return false;
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            document = null;
            error = "The body must be a JSON object.";
            return false;
        }
        return true;
    }
}
