using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CausalKv.Node.Replication;
using CausalKv.Sharding;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// The node's <see cref="IPeerTransport"/> over the simulated network: each request travels as the JSON the node sends
/// over HTTP, to the <see cref="PeerEndpoints"/> of the node it is addressed to, and its answer travels back the same way.
/// </summary>
internal sealed class SimulatedTransport(SimulatedNetwork network, int from, TimeSpan requestTimeout) : IPeerTransport
{
    public TimeSpan RequestTimeout { get; } = requestTimeout;

    public async Task<(TResponse Response, int SentBytes, int ReceivedBytes)> PostAsync<TRequest, TResponse>(
        ViewNode target, string path, TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo,
        CancellationToken ct, TimeSpan? timeout = null)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(body, requestInfo);
        var answer = await network.RequestAsync(from, target.Id, path, payload, timeout ?? RequestTimeout, ct);
        var response = JsonSerializer.Deserialize(answer, responseInfo) ?? throw new HttpRequestException($"Node {target.Id} answered {path} with an empty body.");
        return (response, payload.Length, answer.Length);
    }
}
