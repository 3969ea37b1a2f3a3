using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace CausalKv.Causality;

/// <summary>
/// The wire form of <c>causal-metadata</c>, opaque to clients:
/// <c>{"ckv":"&lt;cluster id&gt;","d":{"&lt;key&gt;":{"c":{"&lt;origin&gt;":seq,...},"t":[ts,node]}},"h":[ts,node],"m":"&lt;mac&gt;"}</c>
/// (<c>h</c>: the highest tag the session observed, <see cref="DependencySet.HighestTag"/>), or <c>{}</c> for a new session.
/// Invariant: only metadata this cluster issued is accepted. <c>m</c> is an HMAC-SHA256 (truncated to 128 bits)
/// under a key derived from the cluster key, computed over a canonical encoding of the dependencies as parsed, not
/// of the JSON text: a client may re-serialize the metadata (spacing, field order) but cannot change or invent a
/// dependency, so no client can make another client's reads wait for a write that does not exist.
/// Anything else is refused with a message that says what was wrong.
/// </summary>
public sealed class CausalMetadataCodec
{
    private const int MacBytes = 16;
    private readonly string _clusterId;
    private readonly byte[] _macKey;
    private readonly bool _sign;

    /// <param name="clusterId">the id written into and required of every metadata (<see cref="ClusterIdFor"/>)</param>
    /// <param name="macKey">the key of the metadata MAC (<see cref="MacKeyFor"/>)</param>
    /// <param name="sign">false only to measure what the MAC costs: metadata is then neither signed nor checked, and can be forged</param>
    public CausalMetadataCodec(string clusterId, byte[] macKey, bool sign = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(macKey.Length, 16, nameof(macKey));
        _clusterId = clusterId;
        _macKey = macKey;
        _sign = sign;
    }

    /// <summary>The codec of the cluster whose key is <paramref name="clusterKey"/> (none: a development cluster).</summary>
    public static CausalMetadataCodec ForCluster(string? clusterKey, bool sign = true) =>
        new(ClusterIdFor(clusterKey), MacKeyFor(clusterKey), sign);

    public string ClusterId => _clusterId;

    public bool Signs => _sign;

    /// <summary>A stable id for the cluster: derived from its key, so two clusters with different keys never accept each other's metadata.</summary>
    public static string ClusterIdFor(string? clusterKey)
    {
        if (string.IsNullOrEmpty(clusterKey)) return "causalkv";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("causalkv-metadata:" + clusterKey));
        return Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    /// <summary>
    /// The MAC key: HKDF-SHA256 of the cluster key, for this purpose only. Without a cluster key (a development
    /// cluster, whose internal endpoints are open anyway) the key is derived from the empty string: the MAC then
    /// still catches metadata that was damaged or hand-edited, but not a forger who knows it.
    /// </summary>
    public static byte[] MacKeyFor(string? clusterKey) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(clusterKey ?? ""), 32,
            salt: Encoding.UTF8.GetBytes("causalkv"), info: Encoding.UTF8.GetBytes("causal-metadata mac v1"));

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
        JsonElement mac = default;
        var highest = WriteTag.Zero;
        foreach (var prop in element.EnumerateObject())
        {
            if (prop.NameEquals("ckv")) continue;
            if (prop.NameEquals("m")) { mac = prop.Value; continue; }
            if (prop.NameEquals("h"))
            {
                if (!TryReadTag(prop.Value, out highest))
                    return Fail("causal-metadata is broken: 'h' must be [timestamp, node]; pass back the causal-metadata a response gave you, unchanged", out error);
                continue;
            }
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
        var read = DependencySet.Of(builder).Observing(highest);
        if (_sign && !read.IsBlank && !MacMatches(read, mac))
            return Fail("causal-metadata failed its integrity check: it was altered or not issued by this cluster. " +
                "Pass back exactly the causal-metadata a response gave you (or {} to start a new session)", out error);
        deps = read;
        return true;
    }

    private bool MacMatches(DependencySet deps, JsonElement mac)
    {
        if (mac.ValueKind != JsonValueKind.String) return false;
        Span<byte> given = stackalloc byte[MacBytes + 2];
        var text = mac.GetString()!;
        if (text.Length != 22 || !Base64Url.TryDecodeFromChars(text, given, out var n) || n != MacBytes) return false;
        Span<byte> expected = stackalloc byte[MacBytes];
        ComputeMac(deps, expected);
        return CryptographicOperations.FixedTimeEquals(given[..MacBytes], expected);
    }

    [ThreadStatic] private static IncrementalHash? t_hmac;
    [ThreadStatic] private static byte[]? t_hmacKey;

    /// <summary>
    /// This thread's HMAC under this codec's key, kept between requests: a one-shot HMAC sets the key up again on
    /// every call, which costs more than hashing the few hundred bytes of a session's metadata.
    /// </summary>
    private IncrementalHash ThreadHmac()
    {
        if (t_hmac is not null && ReferenceEquals(t_hmacKey, _macKey)) return t_hmac;
        t_hmac?.Dispose();
        t_hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _macKey);
        t_hmacKey = _macKey;
        return t_hmac;
    }

    /// <summary>
    /// The MAC of <paramref name="deps"/>: HMAC-SHA256 over, per key in ordinal order, the key's UTF-8 length and
    /// bytes, the clock's length and (origin, seq) pairs, and the tag; then the highest observed tag; truncated to
    /// <see cref="MacBytes"/>.
    /// </summary>
    private void ComputeMac(DependencySet deps, Span<byte> destination)
    {
        var keys = ArrayPool<string>.Shared.Rent(deps.Count);
        var size = 12;
        var count = 0;
        foreach (var (k, d) in deps.Entries)
        {
            keys[count++] = k;
            size += 4 + Encoding.UTF8.GetByteCount(k) + 4 + d.Clock.Count * 16 + 12;
        }
        Array.Sort(keys, 0, count, StringComparer.Ordinal);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var at = 0;
            for (var i = 0; i < count; i++)
            {
                var key = keys[i];
                var dep = deps[key]!;
                var n = Encoding.UTF8.GetBytes(key, buffer.AsSpan(at + 4));
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at), n);
                at += 4 + n;
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at), dep.Clock.Count);
                at += 4;
                foreach (var e in dep.Clock.Entries)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at), e.Origin);
                    BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at + 8), e.Seq);
                    at += 16;
                }
                BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at), dep.Tag.Timestamp);
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at + 8), dep.Tag.Node);
                at += 12;
            }
            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(at), deps.HighestTag.Timestamp);
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at + 8), deps.HighestTag.Node);
            at += 12;
            Span<byte> full = stackalloc byte[32];
            var hmac = ThreadHmac();
            hmac.AppendData(buffer.AsSpan(0, at));
            hmac.GetHashAndReset(full);
            full[..destination.Length].CopyTo(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Array.Clear(keys, 0, count);
            ArrayPool<string>.Shared.Return(keys);
        }
    }

    private static bool TryReadDependency(JsonElement e, out Dependency? dep)
    {
        dep = null;
        if (e.ValueKind != JsonValueKind.Object) return false;
        if (!e.TryGetProperty("c", out var c) || c.ValueKind != JsonValueKind.Object) return false;
        if (!e.TryGetProperty("t", out var t) || !TryReadTag(t, out var tag)) return false;
        var entries = new List<VersionVector.Entry>();
        foreach (var p in c.EnumerateObject())
        {
            if (!long.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var origin)) return false;
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt64(out var seq) || seq <= 0) return false;
            entries.Add(new VersionVector.Entry(origin, seq));
        }
        if (entries.Count == 0) return false;
        dep = new Dependency(VersionVector.Of(entries.ToArray()), tag);
        return true;
    }

    private static bool TryReadTag(JsonElement t, out WriteTag tag)
    {
        tag = WriteTag.Zero;
        if (t.ValueKind != JsonValueKind.Array || t.GetArrayLength() != 2) return false;
        if (t[0].ValueKind != JsonValueKind.Number || t[1].ValueKind != JsonValueKind.Number) return false;
        if (!t[0].TryGetInt64(out var ts) || ts < 0 || !t[1].TryGetInt32(out var node) || node < 0) return false;
        tag = new WriteTag(ts, node);
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
        if (!deps.IsBlank)
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
            writer.WriteStartArray("h");
            writer.WriteNumberValue(deps.HighestTag.Timestamp);
            writer.WriteNumberValue(deps.HighestTag.Node);
            writer.WriteEndArray();
            if (_sign)
            {
                Span<byte> mac = stackalloc byte[MacBytes];
                ComputeMac(deps, mac);
                Span<char> text = stackalloc char[24];
                var n = Base64Url.EncodeToChars(mac, text);
                writer.WriteString("m", text[..n]);
            }
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
