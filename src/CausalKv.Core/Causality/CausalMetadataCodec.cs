using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CausalKv.Causality;

/// <summary>
/// The wire form of <c>causal-metadata</c>, opaque to clients:
/// <c>{"ckv":"&lt;cluster id&gt;","d":{"&lt;key&gt;":{"c":{"&lt;origin&gt;":seq,...},"t":[ts,node]}}}</c>,
/// or <c>{}</c> when the session depends on nothing still in flight.
/// Anything else is refused with a message that says what was wrong.
/// </summary>
public sealed class CausalMetadataCodec
{
    private readonly string _clusterId;

    public CausalMetadataCodec(string clusterId) => _clusterId = clusterId;

    public string ClusterId => _clusterId;

    /// <summary>A stable id for the cluster: derived from its key, so two clusters with different keys never accept each other's metadata.</summary>
    public static string ClusterIdFor(string? clusterKey)
    {
        if (string.IsNullOrEmpty(clusterKey)) return "causalkv";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("causalkv-metadata:" + clusterKey));
        return Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    public bool TryRead(JsonElement element, out DependencySet deps, out string? error)
    {
        deps = DependencySet.Empty;
        error = null;
        if (element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return true;
        if (element.ValueKind != JsonValueKind.Object)
            return Fail("causal-metadata must be a JSON object issued by this cluster (or null/{} for none)", out error);
        if (!element.EnumerateObject().Any()) return true;
        if (!element.TryGetProperty("ckv", out var ckv) || ckv.ValueKind != JsonValueKind.String)
            return Fail("causal-metadata was not issued by this cluster: pass back exactly the causal-metadata a CausalKv response gave you", out error);
        if (ckv.GetString() != _clusterId)
            return Fail("causal-metadata was issued by another cluster: start a new session with {} or pass metadata from this cluster", out error);
        var builder = new List<KeyValuePair<string, Dependency>>();
        foreach (var prop in element.EnumerateObject())
        {
            if (prop.NameEquals("ckv")) continue;
            if (!prop.NameEquals("d"))
                return Fail($"causal-metadata has an unknown field '{prop.Name}': pass it back unchanged", out error);
            if (prop.Value.ValueKind != JsonValueKind.Object)
                return Fail("causal-metadata is broken: 'd' must be an object", out error);
            foreach (var entry in prop.Value.EnumerateObject())
            {
                if (!TryReadDependency(entry.Value, out var dep))
                    return Fail($"causal-metadata is broken at key '{entry.Name}': pass back the causal-metadata a response gave you, unchanged", out error);
                builder.Add(new(entry.Name, dep!));
            }
        }
        deps = DependencySet.Of(builder);
        return true;
    }

    private static bool TryReadDependency(JsonElement e, out Dependency? dep)
    {
        dep = null;
        if (e.ValueKind != JsonValueKind.Object) return false;
        if (!e.TryGetProperty("c", out var c) || c.ValueKind != JsonValueKind.Object) return false;
        if (!e.TryGetProperty("t", out var t) || t.ValueKind != JsonValueKind.Array || t.GetArrayLength() != 2) return false;
        if (t[0].ValueKind != JsonValueKind.Number || t[1].ValueKind != JsonValueKind.Number) return false;
        if (!t[0].TryGetInt64(out var ts) || ts < 0 || !t[1].TryGetInt32(out var node) || node < 0) return false;
        var entries = new List<VersionVector.Entry>();
        foreach (var p in c.EnumerateObject())
        {
            if (!long.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var origin)) return false;
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt64(out var seq) || seq <= 0) return false;
            entries.Add(new VersionVector.Entry(origin, seq));
        }
        if (entries.Count == 0) return false;
        dep = new Dependency(VersionVector.Of(entries.ToArray()), new WriteTag(ts, node));
        return true;
    }

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }

    public void Write(Utf8JsonWriter writer, DependencySet deps)
    {
        writer.WriteStartObject();
        if (!deps.IsEmpty)
        {
            writer.WriteString("ckv", _clusterId);
            writer.WriteStartObject("d");
            foreach (var (key, dep) in deps.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(key);
                WriteClock(writer, "c", dep.Clock);
                writer.WriteStartArray("t");
                writer.WriteNumberValue(dep.Tag.Timestamp);
                writer.WriteNumberValue(dep.Tag.Node);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    public static void WriteClock(Utf8JsonWriter writer, string name, VersionVector clock)
    {
        writer.WriteStartObject(name);
        Span<char> buf = stackalloc char[24];
        foreach (var e in clock.Entries)
        {
            e.Origin.TryFormat(buf, out var n, default, CultureInfo.InvariantCulture);
            writer.WriteNumber(buf[..n], e.Seq);
        }
        writer.WriteEndObject();
    }

    public string ToJson(DependencySet deps)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) Write(w, deps);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
