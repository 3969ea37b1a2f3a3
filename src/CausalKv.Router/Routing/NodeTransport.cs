using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Router.Routing;

/// <summary>
/// The one connection pool to the nodes, shared by forwarding, fan-out reads, view polls and health probes.
/// A short connect timeout (a cut link hangs rather than refusing), no proxy, no redirects, no cookies,
/// no decompression: the router passes bytes through. Trace context is propagated from the current activity when it
/// is recorded, replacing whatever the client sent, as YARP's own client factory does (<see cref="TracedOnlyPropagator"/>). Forwarded requests go through
/// <see cref="BufferedBodyHandler"/>, which sends a buffered body in the same write as the headers.
/// </summary>
internal sealed class NodeTransport : IDisposable
{
    private readonly SocketsHttpHandler _handler;

    public NodeTransport(IOptions<RouterOptions> options)
    {
        _handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = options.Value.ConnectTimeout,
            // Views name nodes by host name: a node back under its name at another address is reached within a minute
            // even while its old address still takes connections (each new connection resolves the name again).
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            // Kestrel reads header values as UTF-8, so a client's header outside ASCII (metadata with a key in another
            // script, sent as a header) goes on to the node as the same bytes instead of failing the forward.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
            ActivityHeadersPropagator = new TracedOnlyPropagator(new ReverseProxyPropagator(DistributedContextPropagator.Current)),
        };
        Invoker = new HttpMessageInvoker(new BufferedBodyHandler(_handler), disposeHandler: false);
        // Deadlines come from each caller's token: an HttpClient timeout would look like a connect timeout.
        Client = new HttpClient(_handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>For YARP's forwarder, which insists on an invoker rather than an HttpClient.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>For the router's own requests to nodes.</summary>
    public HttpClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        Invoker.Dispose();
        _handler.Dispose();
    }
}
