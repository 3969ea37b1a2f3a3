using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CausalKv.Node.Configuration;
using CausalKv.Node.Faults;
using CausalKv.Protocol;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Replication;

/// <summary>
/// Sends node-to-node requests with short connect timeouts, the cluster key and
/// this node's id, and counts the bytes each way. Not built on the resilient
/// HttpClient defaults: a cut peer must fail fast so the caller can try another.
/// </summary>
public sealed class PeerClient : IPeerTransport, IDisposable
{
    private readonly HttpClient _http;
    private readonly NodeIdentity _identity;
    private long _bytesSent;
    private long _bytesReceived;

    public PeerClient(FaultInjector faults, NodeIdentity identity, IOptions<NodeOptions> options)
    {
        var o = options.Value;
        _identity = identity;
        var sockets = new SocketsHttpHandler
        {
            ConnectTimeout = o.PeerConnectTimeout,
            // Kestrel reads header values as UTF-8: a forwarded client's metadata header outside ASCII goes on as the same bytes.
            RequestHeaderEncodingSelector = static (_, _) => System.Text.Encoding.UTF8,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            // Views name peers by host name: a peer that comes back under its name at another address is found within a
            // minute even while the old address still takes connections (a new connection resolves the name again).
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            UseProxy = false,
        };
        _http = new HttpClient(new FaultInjectingHandler(faults, o.PeerConnectTimeout) { InnerHandler = sockets })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        RequestTimeout = o.PeerRequestTimeout;
    }

    public TimeSpan RequestTimeout { get; }

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public HttpRequestMessage CreateRequest(HttpMethod method, ViewNode target, string pathAndQuery)
    {
        // Sent exactly as given: a default Uri would undo escapes such as %2E and then remove dot segments.
        var request = new HttpRequestMessage(method, new Uri($"http://{target.Address}{pathAndQuery}", in KeyPath.UriOptions));
        request.Options.Set(FaultInjectingHandler.TargetNode, target.Id);
        request.Headers.Add(NodeIdentity.FromNodeHeader, _identity.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_identity.ClusterKey is not null) request.Headers.Add(NodeIdentity.ClusterKeyHeader, _identity.ClusterKey);
        return request;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct) =>
        _http.SendAsync(request, completion, ct);

    /// <summary>POSTs a JSON message and reads the JSON answer; throws on any failure or non-2xx.</summary>
    public async Task<(TResponse Response, int SentBytes, int ReceivedBytes)> PostAsync<TRequest, TResponse>(
        ViewNode target, string path, TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo,
        CancellationToken ct, TimeSpan? timeout = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? RequestTimeout);
        var payload = JsonSerializer.SerializeToUtf8Bytes(body, requestInfo);
        using var request = CreateRequest(HttpMethod.Post, target, path);
        request.Content = new ByteArrayContent(payload);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cts.Token);
        var bytes = await response.Content.ReadAsByteArrayAsync(cts.Token);
        Interlocked.Add(ref _bytesSent, payload.Length);
        Interlocked.Add(ref _bytesReceived, bytes.Length);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"Node {target.Id} answered {(int)response.StatusCode} to {path}.", null, response.StatusCode);
        var result = JsonSerializer.Deserialize(bytes, responseInfo)
            ?? throw new HttpRequestException($"Node {target.Id} answered {path} with an empty body.");
        return (result, payload.Length, bytes.Length);
    }

    public void Dispose() => _http.Dispose();
}
