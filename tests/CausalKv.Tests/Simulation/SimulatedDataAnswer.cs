using System.Text.Json;
using CausalKv.Causality;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// A node's answer to a <see cref="SimulatedDataRequest"/>, relayed unchanged by the nodes that forwarded it: the
/// status, the value and the causal-metadata the session carries on, and what the history needs to know of it: the
/// node that answered, the tag of the version it tells of, the history entry of a write it stored. An answer may
/// instead name what the replica still lacks (<see cref="Missing"/>: the client asks again a little later) or why the
/// node serves no data (<see cref="NotServing"/>: a forwarder tries another replica).
/// </summary>
internal sealed record SimulatedDataAnswer(int Status, string? Value, DependencySet? Metadata, string? Error, int Node,
    WriteTag Tag = default, int? Execution = null, string? Missing = null, string? NotServing = null)
{
    public bool Served => Status is 200 or 201 or 404;

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("status", Status);
            if (Value is not null) w.WriteString("value", Value);
            if (Metadata is not null)
            {
                w.WritePropertyName("causal-metadata");
                SimulatedDataRequest.Codec.Write(w, Metadata);
            }
            if (Error is not null) w.WriteString("error", Error);
            w.WriteNumber("node", Node);
            w.WriteNumber("tag-timestamp", Tag.Timestamp);
            w.WriteNumber("tag-node", Tag.Node);
            if (Execution is { } execution) w.WriteNumber("execution", execution);
            if (Missing is not null) w.WriteString("missing", Missing);
            if (NotServing is not null) w.WriteString("not-serving", NotServing);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public static SimulatedDataAnswer FromBytes(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        DependencySet? metadata = null;
        if (root.TryGetProperty("causal-metadata", out var m))
        {
            if (!SimulatedDataRequest.Codec.TryRead(m, out var deps, out var error))
                throw new InvalidOperationException($"An answer's metadata does not read back: {error}");
            metadata = deps;
        }
        string? Text(string name) => root.TryGetProperty(name, out var p) ? p.GetString() : null;
        return new SimulatedDataAnswer(root.GetProperty("status").GetInt32(), Text("value"), metadata, Text("error"), root.GetProperty("node").GetInt32(),
            new WriteTag(root.GetProperty("tag-timestamp").GetInt64(), root.GetProperty("tag-node").GetInt32()),
            root.TryGetProperty("execution", out var e) ? e.GetInt32() : null, Text("missing"), Text("not-serving"));
    }
}
