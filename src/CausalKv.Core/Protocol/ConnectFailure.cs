namespace CausalKv.Protocol;

/// <summary>
/// Tells a failed send that never reached the replica from one that may have been applied: the connection was refused,
/// the name did not resolve or the connection could not be set up (<see cref="HttpRequestError.ConnectionError"/>,
/// <see cref="HttpRequestError.NameResolutionError"/>), or connecting took longer than the handler's ConnectTimeout
/// (SocketsHttpHandler reports that as an OperationCanceledException wrapping a TimeoutException). Only the first kind is
/// safe to send to another replica of the shard: the first one cannot have applied it.
/// </summary>
public static class ConnectFailure
{
    public static bool IsConnectPhase(Exception? exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
        OperationCanceledException { InnerException: TimeoutException } => true,
        AggregateException { InnerExceptions.Count: 1 } aggregate => IsConnectPhase(aggregate.InnerExceptions[0]),
        _ => false,
    };
}
