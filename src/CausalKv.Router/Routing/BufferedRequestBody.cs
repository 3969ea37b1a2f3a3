namespace CausalKv.Router.Routing;

/// <summary>
/// A client's request body, read whole, standing in for the request's body stream: it can be sent to a second
/// replica after a failed connect, and <see cref="NodeRequestTransformer"/> hands its bytes to the transport so that
/// they go out in the same write as the request headers.
/// </summary>
internal sealed class BufferedRequestBody(byte[] bytes) : MemoryStream(bytes, writable: false)
{
    public byte[] Bytes { get; } = bytes;
}
