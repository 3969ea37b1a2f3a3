namespace CausalKv.Client.Routing;

/// <summary>
/// Tells a failure that never reached the replica (refused, unreachable, or connecting took longer than the connect
/// timeout, which SocketsHttpHandler reports as a cancellation wrapping a TimeoutException) from one that may have
/// been applied. Only the first kind is safe to send to the shard's next replica for a write.
/// </summary>
internal static class ConnectFailure
{
    public static bool IsConnectPhase(Exception exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
        OperationCanceledException { InnerException: TimeoutException } => true,
        AggregateException { InnerExceptions.Count: 1 } aggregate => IsConnectPhase(aggregate.InnerExceptions[0]),
        _ => false,
    };
}
