using System.Net.Sockets;
using CausalKv.Router.Routing;
using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Tests.Router;

public sealed class ConnectFailureTests
{
    [Fact]
    public void Refused_and_timed_out_connections_are_connect_failures()
    {
        var refused = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused));
        var connectTimeout = new TaskCanceledException("connect", new TimeoutException("A connection could not be established within the configured ConnectTimeout."));

        Assert.True(ForwarderConnectFailure.IsConnectPhase(ForwarderError.Request, refused));
        // YARP reports SocketsHttpHandler's ConnectTimeout as a timed-out request.
        Assert.True(ForwarderConnectFailure.IsConnectPhase(ForwarderError.RequestTimedOut, connectTimeout));
    }

    [Fact]
    public void Failures_after_connecting_are_not_retried_elsewhere()
    {
        var reset = new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.");
        var activityTimeout = new TaskCanceledException("The operation was canceled.");

        Assert.False(ForwarderConnectFailure.IsConnectPhase(ForwarderError.Request, reset));
        Assert.False(ForwarderConnectFailure.IsConnectPhase(ForwarderError.RequestTimedOut, activityTimeout));
        Assert.False(ForwarderConnectFailure.IsConnectPhase(ForwarderError.ResponseBodyDestination,
            new HttpRequestException(HttpRequestError.ConnectionError, "refused")));
        Assert.False(ForwarderConnectFailure.IsConnectPhase(ForwarderError.Request, null));
    }
}
