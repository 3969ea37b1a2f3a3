using System.Net.Http;
using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Router.Routing;

/// <summary>
/// Tells whether a failed send never reached the replica: the connection was refused or could not be set up
/// (<see cref="HttpRequestError.ConnectionError"/>), or connecting took longer than the handler's ConnectTimeout
/// (SocketsHttpHandler reports that as an OperationCanceledException wrapping a TimeoutException, and YARP as
/// <see cref="ForwarderError.RequestTimedOut"/>). Only then is it safe to send the same request to another replica:
/// the first one cannot have applied it.
/// </summary>
internal static class ConnectFailure
{
    public static bool IsConnectPhase(ForwarderError error, Exception? exception) =>
        error is ForwarderError.Request or ForwarderError.RequestTimedOut && IsConnectPhase(exception);

    public static bool IsConnectPhase(Exception? exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => true,
        OperationCanceledException { InnerException: TimeoutException } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count == 1 && IsConnectPhase(aggregate.InnerExceptions[0]),
        _ => false,
    };
}
