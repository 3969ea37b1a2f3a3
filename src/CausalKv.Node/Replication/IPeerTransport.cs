using System.Text.Json.Serialization.Metadata;
using CausalKv.Sharding;

namespace CausalKv.Node.Replication;

/// <summary>
/// How replication, gossip and handoff reach another node: one JSON request and its answer. The protocol code sees
/// only this, so it can run over HTTP (<see cref="PeerClient"/>) or any other carrier.
/// </summary>
public interface IPeerTransport
{
    /// <summary>How long a request may take unless the caller says otherwise.</summary>
    TimeSpan RequestTimeout { get; }

    /// <summary>Sends <paramref name="body"/> to <paramref name="path"/> at <paramref name="target"/>; throws on any failure or refusal.</summary>
    Task<(TResponse Response, int SentBytes, int ReceivedBytes)> PostAsync<TRequest, TResponse>(
        ViewNode target, string path, TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo,
        CancellationToken ct, TimeSpan? timeout = null);
}
