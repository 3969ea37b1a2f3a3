using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Http;

/// <summary>
/// Reads a request body into memory up to a limit, refusing a larger one before reading it whole (a larger
/// Content-Length at once). A body of known length, the usual case, is read into one array of exactly that size, so a
/// request holds at most its body; one of unknown length grows a buffer and is refused as soon as it passes the limit.
/// </summary>
public static class BoundedBody
{
    public sealed class TooLargeException(long limit) : Exception($"The request body is larger than {limit} bytes.")
    {
        public long Limit { get; } = limit;
    }

    /// <summary>The whole body; empty when the request cannot have one.</summary>
    public static async ValueTask<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false }) return [];
        var length = request.ContentLength;
        if (length == 0) return [];
        if (length > limit) throw new TooLargeException(limit);
        var feature = request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit + 1;
        try
        {
            return length is { } known ? await ReadKnownAsync(request.Body, (int)known, ct) : await ReadChunkedAsync(request.Body, limit, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new TooLargeException(limit);
        }
    }

    private static async ValueTask<byte[]> ReadKnownAsync(Stream body, int length, CancellationToken ct)
    {
        // Kestrel ends the body at Content-Length and fails a body that ends early, so exactly this much arrives.
        var buffer = new byte[length];
        var filled = 0;
        while (filled < length)
        {
            var read = await body.ReadAsync(buffer.AsMemory(filled), ct);
            if (read == 0) throw new BadHttpRequestException("The request body ended before its Content-Length.");
            filled += read;
        }
        return buffer;
    }

    private static async ValueTask<byte[]> ReadChunkedAsync(Stream body, long limit, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        while (true)
        {
            var read = await body.ReadAsync(buffer.GetMemory(4096), ct);
            if (read == 0) break;
            buffer.Advance(read);
            if (buffer.WrittenCount > limit) throw new TooLargeException(limit);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
