using System.Collections.Concurrent;

namespace CausalKv.Tests.Client;

/// <summary>Real sockets, with every request the client sends recorded: where it went and how it ended.</summary>
internal sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) })
{
    public sealed record Sent(string Address, HttpMethod Method, string Path, int? Status, bool NotServing, bool ConnectFailed)
    {
        public string? Failure { get; init; }
    }

    public ConcurrentQueue<Sent> Requests { get; } = new();

    public IEnumerable<Sent> DataRequests => Requests.Where(r => r.Path.StartsWith("/data", StringComparison.Ordinal));

    public void Clear() => Requests.Clear();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var address = request.RequestUri!.Authority;
        var path = Uri.UnescapeDataString(request.RequestUri.AbsolutePath);
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            Requests.Enqueue(new Sent(address, request.Method, path, (int)response.StatusCode, response.Headers.Contains("X-CausalKv-Not-Serving"), false));
            return response;
        }
        catch (Exception e)
        {
            Requests.Enqueue(new Sent(address, request.Method, path, null, false, CausalKv.Protocol.ConnectFailure.IsConnectPhase(e)) { Failure = e.Message });
            throw;
        }
    }
}
