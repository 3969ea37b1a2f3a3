using System.Net;

namespace CausalKv.Router.Routing;

/// <summary>
/// Sends a forwarded request's buffered body from memory instead of through YARP's streaming request content.
/// YARP's content flushes the request headers on their own before copying the body (right for streaming, where the
/// body may take a while), which costs a second write, a second wake-up of the node and a second read on it for every
/// request with a body; GETs carry their metadata in a body, so that is nearly every request. The router has the
/// whole body already (it must, to send it to a second replica), so headers and body go out in one write.
/// The content can be sent once only, like YARP's: the transport must not quietly re-send a request the node may
/// have applied; <see cref="DataForwarder"/> decides what may be sent again.
/// </summary>
internal sealed class BufferedBodyHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is { } streamed && request.Options.TryGetValue(NodeRequestTransformer.BodyKey, out var body))
        {
            var content = new OneShotContent(body);
            foreach (var (name, values) in streamed.Headers.NonValidated)
            {
                // Content-Type and Content-Length, one value each: ToString() hands over the string itself.
                if (values.Count == 1) content.Headers.TryAddWithoutValidation(name, values.ToString());
                else content.Headers.TryAddWithoutValidation(name, values);
            }
            request.Content = content;
        }
        return base.SendAsync(request, cancellationToken);
    }

    private sealed class OneShotContent(byte[] body) : HttpContent
    {
        private int _sent;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _sent, 1) == 1)
            {
                throw new InvalidOperationException("The forwarded request body was already sent once; the router does not re-send it on the same attempt.");
            }
            return stream.WriteAsync(body, cancellationToken).AsTask();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
