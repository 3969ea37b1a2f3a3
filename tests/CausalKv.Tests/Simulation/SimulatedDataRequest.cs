using System.Text.Json;
using CausalKv.Causality;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// A client's data request (GET, PUT or DELETE of one key), as a client sends it to a node and as a node forwards it
/// to another: the session's causal-metadata in the codec's JSON, and, once forwarded, the hops it made and the view
/// epoch its target was chosen by, as the node's forwarder sends them in headers. <see cref="Session"/> and
/// <see cref="Issued"/> (when the client sent it) only place it in the history.
/// </summary>
internal sealed record SimulatedDataRequest(string Method, string Key, string? Value, DependencySet Dependencies, int Session, int Issued,
    int Hops = 0, long? Epoch = null)
{
    public const string Get = "GET";
    public const string Put = "PUT";
    public const string Delete = "DELETE";

    /// <summary>Unsigned metadata, as the simulated nodes use (<c>SignMetadata</c> off).</summary>
    public static readonly CausalMetadataCodec Codec = CausalMetadataCodec.ForCluster(null, sign: false);

    public bool IsWrite => Method != Get;

    public string Path => $"/data/{Key}";

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("method", Method);
            w.WriteString("key", Key);
            if (Value is not null) w.WriteString("value", Value);
            w.WriteNumber("session", Session);
            w.WriteNumber("issued", Issued);
            w.WriteNumber("hops", Hops);
            if (Epoch is { } epoch) w.WriteNumber("epoch", epoch);
            w.WritePropertyName("causal-metadata");
            Codec.Write(w, Dependencies);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static SimulatedDataRequest FromBytes(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (!Codec.TryRead(root.GetProperty("causal-metadata"), out var deps, out var error))
            throw new InvalidOperationException($"A forwarded request's metadata does not read back: {error}");
        return new SimulatedDataRequest(root.GetProperty("method").GetString()!, root.GetProperty("key").GetString()!,
            root.TryGetProperty("value", out var value) ? value.GetString() : null, deps, root.GetProperty("session").GetInt32(),
            root.GetProperty("issued").GetInt32(), root.GetProperty("hops").GetInt32(), root.TryGetProperty("epoch", out var epoch) ? epoch.GetInt64() : null);
    }

    public override string ToString() => $"session {Session} {Method} {Key}" + (Value is null ? "" : $"={Value}");
}
