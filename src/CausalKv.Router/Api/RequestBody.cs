using CausalKv.Http;
using CausalKv.Router.Routing;
using Microsoft.AspNetCore.Http.Features;

namespace CausalKv.Router.Api;

/// <summary>
/// Reads a request body into memory, up to a limit, refusing larger ones before reading them whole: a request that
/// may be sent to a second replica must be re-readable. A body of known length (the usual case) is read into one
/// array of exactly that size.
/// </summary>
internal static class RequestBody
{
    /// <summary>The whole body up to <paramref name="limit"/> bytes (<see cref="BoundedBody"/>); empty when the request cannot have one.</summary>
    public static ValueTask<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken ct) => BoundedBody.ReadAsync(request, limit, ct);

    /// <summary>Replaces the request's body stream with the buffered bytes (see <see cref="BufferedRequestBody"/>); null when there are none.</summary>
    public static BufferedRequestBody? Replay(HttpRequest request, byte[] body)
    {
        if (body.Length == 0) return null;
        var stream = new BufferedRequestBody(body);
        request.Body = stream;
        return stream;
    }
}
