using CausalKv.Protocol;
using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Router.Routing;

/// <summary>
/// A forward YARP failed that never reached the replica (<see cref="ConnectFailure"/>): YARP reports a refused
/// connection as <see cref="ForwarderError.Request"/> and SocketsHttpHandler's ConnectTimeout as
/// <see cref="ForwarderError.RequestTimedOut"/>. Only then is it safe to send the same request to another replica.
/// </summary>
internal static class ForwarderConnectFailure
{
    public static bool IsConnectPhase(ForwarderError error, Exception? exception) =>
        error is ForwarderError.Request or ForwarderError.RequestTimedOut && ConnectFailure.IsConnectPhase(exception);
}
