using System.Net;
using CausalKv.Protocol;
using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Router.Routing;

/// <summary>
/// What a forwarded request carries to the node: every header the client sent (causal metadata, content type, trace
/// context; YARP leaves out the hop-by-hop ones), no Host (the node's address is the destination), and none of the
/// X-Forwarded-* headers of YARP's default transforms (the nodes do not read them; they would cost bytes and
/// allocations on every request). A buffered body is attached for <see cref="BufferedBodyHandler"/>. The key goes to
/// the node exactly as the client sent it (<see cref="KeyPath"/>), whatever Kestrel made of the path.
/// A node's answer that it serves no data at all (<see cref="ProtocolHeaders.NotServing"/>: no view yet, or not in the
/// view) is held back from the client: nothing was applied, so <see cref="DataForwarder"/> tries the shard's next replica.
/// </summary>
internal sealed class NodeRequestTransformer : HttpTransformer
{
    public static readonly NodeRequestTransformer Instance = new();

    /// <summary>The buffered body of a forwarded request, for <see cref="BufferedBodyHandler"/>.</summary>
    public static readonly HttpRequestOptionsKey<byte[]> BodyKey = new("CausalKv.Router.BufferedBody");

    private NodeRequestTransformer()
    {
    }

    /// <summary>True when a node answered that it serves no data, so the request may go to another replica.</summary>
    public static bool IsNotServing(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.ServiceUnavailable && response.Headers.Contains(ProtocolHeaders.NotServing);

    /// <summary>True when the last forward was held back by <see cref="TransformResponseAsync"/>; clears the mark.</summary>
    public static bool TakeNotServing(HttpContext context)
    {
        if (context.Response.StatusCode != StatusCodes.Status503ServiceUnavailable || context.Features.Get<NotServingMark>() is null) return false;
        context.Features.Set<NotServingMark>(null);
        return true;
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is not null && IsNotServing(proxyResponse))
        {
            // Nothing is copied (status aside, which the next attempt resets) and the body is dropped.
            httpContext.Features.Set(NotServingMark.Instance);
            return ValueTask.FromResult(false);
        }
        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        // The key as decoded from the client's raw target, escaped once: the path YARP would build is its routing form.
        if (CausalKv.Http.DataKeys.Of(httpContext) is { } key)
            proxyRequest.RequestUri = KeyPath.UriOf(destinationPrefix, key, httpContext.Request.QueryString.ToUriComponent());
        proxyRequest.Headers.Host = null;
        if (proxyRequest.Content is not null && httpContext.Request.Body is BufferedRequestBody buffered)
        {
            proxyRequest.Options.Set(BodyKey, buffered.Bytes);
        }
    }

    private sealed class NotServingMark
    {
        public static readonly NotServingMark Instance = new();
    }
}
