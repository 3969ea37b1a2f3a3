using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Router.Routing;

/// <summary>
/// What a forwarded request carries to the node: every header the client sent (causal metadata, content type, trace
/// context; YARP leaves out the hop-by-hop ones), no Host (the node's address is the destination), and none of the
/// X-Forwarded-* headers of YARP's default transforms (the nodes do not read them; they would cost bytes and
/// allocations on every request). A buffered body is attached for <see cref="BufferedBodyHandler"/>.
/// </summary>
internal sealed class NodeRequestTransformer : HttpTransformer
{
    public static readonly NodeRequestTransformer Instance = new();

    /// <summary>The buffered body of a forwarded request, for <see cref="BufferedBodyHandler"/>.</summary>
    public static readonly HttpRequestOptionsKey<byte[]> BodyKey = new("CausalKv.Router.BufferedBody");

    private NodeRequestTransformer()
    {
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        proxyRequest.Headers.Host = null;
        if (proxyRequest.Content is not null && httpContext.Request.Body is BufferedRequestBody buffered)
        {
            proxyRequest.Options.Set(BodyKey, buffered.Bytes);
        }
    }
}
