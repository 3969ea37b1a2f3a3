using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Router.Api;

/// <summary>
/// Reads a request body into memory, up to a limit, refusing larger ones before reading them whole: a request that
/// may be sent to a second replica must be re-readable.
/// </summary>
internal static class RequestBody
{
    public sealed class TooLargeException(long limit) : Exception($"The request body is larger than {limit} bytes.")
    {
        public long Limit { get; } = limit;
    }

    /// <summary>The whole body; empty when the request cannot have one.</summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false }) return [];
        if (request.ContentLength > limit) throw new TooLargeException(limit);
        var feature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit + 1;
        var buffer = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 256, limit) + 1);
        try
        {
            while (true)
            {
                var read = await request.Body.ReadAsync(buffer.GetMemory(4096), ct);
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

    /// <summary>Replaces the request's body stream with the buffered bytes; the returned stream is rewound before each attempt.</summary>
    public static MemoryStream? Replay(HttpRequest request, byte[] body)
    {
        if (body.Length == 0) return null;
        var stream = new MemoryStream(body, writable: false);
        request.Body = stream;
        return stream;
    }
}
