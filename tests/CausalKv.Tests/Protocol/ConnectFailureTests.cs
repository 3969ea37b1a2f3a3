using System.Net.Sockets;
using CausalKv.Protocol;

namespace CausalKv.Tests.Protocol;

/// <summary>What the router and the client both treat as a send that never reached the replica.</summary>
public sealed class ConnectFailureTests
{
    public static TheoryData<string, Exception?, bool> Failures => new()
    {
        { "refused", new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused", new SocketException((int)SocketError.ConnectionRefused)), true },
        { "no such host", new HttpRequestException(HttpRequestError.NameResolutionError, "Name or service not known"), true },
        { "connect timeout", new TaskCanceledException("connect", new TimeoutException("A connection could not be established within the configured ConnectTimeout.")), true },
        { "connect timeout, plain cancellation", new OperationCanceledException("connect", new TimeoutException()), true },
        { "one refused, aggregated", new AggregateException(new HttpRequestException(HttpRequestError.ConnectionError, "refused")), true },
        { "two aggregated", new AggregateException(new HttpRequestException(HttpRequestError.ConnectionError, "refused"), new HttpRequestException(HttpRequestError.ConnectionError, "refused")), false },
        { "response ended", new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely."), false },
        { "cancelled while waiting for the answer", new TaskCanceledException("The operation was canceled."), false },
        { "something else", new IOException("broken pipe"), false },
        { "none", null, false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Only_failures_before_the_request_left_count_as_connect_failures(string name, Exception? failure, bool connectPhase)
    {
        Assert.True(ConnectFailure.IsConnectPhase(failure) == connectPhase, name);
    }
}
