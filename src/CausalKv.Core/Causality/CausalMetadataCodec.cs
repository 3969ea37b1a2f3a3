using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.InteropServices;
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

    /// <summary>Reads client metadata within <see cref="MetadataLimits.Default"/>.</summary>
    public bool TryRead(JsonElement element, out DependencySet deps, out string? error) =>
        TryRead(element, MetadataLimits.Default, out deps, out error, out _);

    /// <summary>
    /// Reads metadata, refusing it (<paramref name="tooLarge"/>) past <paramref name="limits"/>. Everything is checked,
    /// the MAC included, on a flat parse of the JSON before any <see cref="DependencySet"/> is built: forged or broken
    /// metadata costs one pass over its text, a sort of its keys and one HMAC.
    /// </summary>
    public bool TryRead(JsonElement element, MetadataLimits limits, out DependencySet deps, out string? error, out bool tooLarge)
    {
        deps = DependencySet.Empty;
        error = null;
        tooLarge = false;
        if (element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return true;
        if (element.ValueKind != JsonValueKind.Object)
            return Fail("causal-metadata must be a JSON object issued by this cluster (or null/{} for none)", out error);
        var bytes = JsonMarshal.GetRawUtf8Value(element).Length;
        if (bytes > limits.MaxBytes)
        {
            tooLarge = true;
            return Fail($"causal-metadata is {bytes} bytes; at most {limits.MaxBytes} are accepted. A session carries this much only " +
                        "after writing that many keys cut off from their other replicas: start a new session ({}) once the partition healed", out error);
        }
        try
        {
            return TryReadObject(element, limits, out deps, out error, out tooLarge);
        }
        catch (InvalidOperationException)
        {
            // A name or string that is not valid UTF-16 once unescaped (a lone surrogate such as "\ud800").
            return Fail("causal-metadata is broken: it holds text that is not valid Unicode; pass back the causal-metadata a response gave you, unchanged", out error);
        }
    }

    private bool TryReadObject(JsonElement element, MetadataLimits limits, out DependencySet deps, out string? error, out bool tooLarge)
    {
        deps = DependencySet.Empty;
        tooLarge = false;
        error = null;
        if (!element.EnumerateObject().Any()) return true;
        if (!element.TryGetProperty("ckv", out var ckv) || ckv.ValueKind != JsonValueKind.String)
            return Fail("causal-metadata was not issued by this cluster: pass back exactly the causal-metadata a CausalKv response gave you", out error);
        if (!ckv.ValueEquals(_clusterId))
            return Fail("causal-metadata was issued by another cluster: start a new session with {} or pass metadata from this cluster", out error);
        JsonElement mac = default, d = default;
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
            if (d.ValueKind != JsonValueKind.Undefined)
                return Fail("causal-metadata is broken: 'd' appears twice", out error);
            d = prop.Value;
        }
        var count = 0;
        if (d.ValueKind == JsonValueKind.Object)
        {
            foreach (var _ in d.EnumerateObject())
            {
                if (++count > limits.MaxDependencies)
                {
                    tooLarge = true;
                    return Fail($"causal-metadata has more than {limits.MaxDependencies} dependencies. A session carries this many only after " +
                                "writing that many keys cut off from their other replicas: start a new session ({}) once the partition healed", out error);
                }
            }
        }
        var parsed = new FlatMetadata(count);
        try
        {
            if (d.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in d.EnumerateObject())
                {
                    var key = entry.Name;
                    if (!parsed.TryAdd(key, entry.Value))
                        return Fail($"causal-metadata is broken at key '{key}': pass back the causal-metadata a response gave you, unchanged", out error);
                }
            }
            highest = WriteTag.Max(highest, parsed.HighestTag);
            var blank = count == 0 && highest == WriteTag.Zero;
            if (!parsed.SortDistinct(out var duplicate))
                return Fail($"causal-metadata is broken: key '{duplicate}' appears twice; pass back the causal-metadata a response gave you, unchanged", out error);
            if (_sign && !blank && !MacMatches(parsed, highest, mac))
                return Fail("causal-metadata failed its integrity check: it was altered or not issued by this cluster. " +
                    "Pass back exactly the causal-metadata a response gave you (or {} to start a new session)", out error);
            deps = parsed.ToDependencySet(highest);
            return true;
        }
        finally
        {
            parsed.Dispose();
        }
    }

    private bool MacMatches(FlatMetadata parsed, WriteTag highest, JsonElement mac)
    {
        if (mac.ValueKind != JsonValueKind.String) return false;
        Span<byte> given = stackalloc byte[MacBytes + 2];
        var text = mac.GetString()!;
        // TryDecodeFromChars throws on a character outside the alphabet: check the text first.
        if (text.Length != 22 || !Base64Url.IsValid(text) || !Base64Url.TryDecodeFromChars(text, given, out var n) || n != MacBytes) return false;
        Span<byte> expected = stackalloc byte[MacBytes];
        var hmac = new MacStream(ThreadHmac());
        for (var i = 0; i < parsed.Count; i++) parsed.AppendSorted(i, ref hmac);
        hmac.Finish(highest, expected);
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
    /// <param name="sorted">the entries of <paramref name="deps"/>, in ordinal order of their keys</param>
    private void ComputeMac(DependencySet deps, ReadOnlySpan<KeyValuePair<string, Dependency>> sorted, Span<byte> destination)
    {
        var hmac = new MacStream(ThreadHmac());
        foreach (var (key, dep) in sorted) hmac.AppendEntry(key, dep.Clock.Entries, dep.Tag);
        hmac.Finish(deps.HighestTag, destination);
    }

    private static readonly Comparison<KeyValuePair<string, Dependency>> ByKey = static (a, b) => string.CompareOrdinal(a.Key, b.Key);

    /// <summary>Feeds the canonical encoding the MAC is computed over into an HMAC, a small buffer at a time.</summary>
    private struct MacStream(IncrementalHash hmac)
    {
        private const int Chunk = 512;
        private readonly IncrementalHash _hmac = hmac;
        private byte[]? _buffer;
        private int _at;

        public void AppendEntry(string key, ReadOnlySpan<VersionVector.Entry> clock, WriteTag tag)
        {
            var keyBytes = Encoding.UTF8.GetByteCount(key);
            Ensure(4);
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_at), keyBytes);
            _at += 4;
            if (keyBytes > Chunk)
            {
                Flush();
                var big = ArrayPool<byte>.Shared.Rent(keyBytes);
                var n = Encoding.UTF8.GetBytes(key, big);
                _hmac.AppendData(big, 0, n);
                ArrayPool<byte>.Shared.Return(big);
            }
            else
            {
                Ensure(keyBytes);
                _at += Encoding.UTF8.GetBytes(key, _buffer.AsSpan(_at));
            }
            Ensure(4);
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_at), clock.Length);
            _at += 4;
            foreach (var e in clock)
            {
                Ensure(16);
                BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_at), e.Origin);
                BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_at + 8), e.Seq);
                _at += 16;
            }
            AppendTag(tag);
        }

        public void Finish(WriteTag highest, Span<byte> destination)
        {
            AppendTag(highest);
            Flush();
            Span<byte> full = stackalloc byte[32];
            _hmac.GetHashAndReset(full);
            full[..destination.Length].CopyTo(destination);
            if (_buffer is not null) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        private void AppendTag(WriteTag tag)
        {
            Ensure(12);
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_at), tag.Timestamp);
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_at + 8), tag.Node);
            _at += 12;
        }

        [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_buffer))]
        private void Ensure(int bytes)
        {
            _buffer ??= ArrayPool<byte>.Shared.Rent(Chunk);
            if (_at + bytes > _buffer.Length) Flush();
        }

        private void Flush()
        {
            if (_buffer is null || _at == 0) return;
            _hmac.AppendData(_buffer, 0, _at);
            _at = 0;
        }
    }

    /// <summary>
    /// Parsed dependencies as flat arrays (keys, tags, one shared run of clock entries), checked and sorted without
    /// building a <see cref="DependencySet"/>: only metadata whose MAC matched becomes one.
    /// </summary>
    private sealed class FlatMetadata(int capacity) : IDisposable
    {
        private readonly string[] _keys = ArrayPool<string>.Shared.Rent(Math.Max(capacity, 1));
        private readonly WriteTag[] _tags = ArrayPool<WriteTag>.Shared.Rent(Math.Max(capacity, 1));
        private readonly int[] _clockStart = ArrayPool<int>.Shared.Rent(Math.Max(capacity, 1) + 1);
        private readonly int[] _order = ArrayPool<int>.Shared.Rent(Math.Max(capacity, 1));
        private VersionVector.Entry[] _clocks = ArrayPool<VersionVector.Entry>.Shared.Rent(Math.Max(capacity, 1) * 2);
        private int _entries;

        public int Count { get; private set; }

        public WriteTag HighestTag { get; private set; }

        public bool TryAdd(string key, JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Object) return false;
            if (!e.TryGetProperty("c", out var c) || c.ValueKind != JsonValueKind.Object) return false;
            if (!e.TryGetProperty("t", out var t) || !TryReadTag(t, out var tag)) return false;
            var start = _entries;
            foreach (var p in c.EnumerateObject())
            {
                if (!long.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var origin)) return false;
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt64(out var seq) || seq <= 0) return false;
                if (_entries == _clocks.Length)
                {
                    var grown = ArrayPool<VersionVector.Entry>.Shared.Rent(_clocks.Length * 2);
                    _clocks.AsSpan(0, _entries).CopyTo(grown);
                    ArrayPool<VersionVector.Entry>.Shared.Return(_clocks);
                    _clocks = grown;
                }
                _clocks[_entries++] = new VersionVector.Entry(origin, seq);
            }
            if (_entries == start) return false;
            var clock = _clocks.AsSpan(start, _entries - start);
            clock.Sort(static (a, b) => a.Origin.CompareTo(b.Origin));
            for (var i = 1; i < clock.Length; i++)
                if (clock[i].Origin == clock[i - 1].Origin) return false;
            _keys[Count] = key;
            _tags[Count] = tag;
            _clockStart[Count] = start;
            _order[Count] = Count;
            Count++;
            _clockStart[Count] = _entries;
            HighestTag = WriteTag.Max(HighestTag, tag);
            return true;
        }

        /// <summary>Orders the entries by key (ordinal); false, naming it, when a key appears twice.</summary>
        public bool SortDistinct(out string? duplicate)
        {
            duplicate = null;
            var keys = _keys;
            _order.AsSpan(0, Count).Sort((a, b) => string.CompareOrdinal(keys[a], keys[b]));
            for (var i = 1; i < Count; i++)
            {
                if (!string.Equals(keys[_order[i]], keys[_order[i - 1]], StringComparison.Ordinal)) continue;
                duplicate = keys[_order[i]];
                return false;
            }
            return true;
        }

        /// <summary>The <paramref name="i"/>-th entry in key order, into <paramref name="hmac"/>.</summary>
        public void AppendSorted(int i, ref MacStream hmac)
        {
            var at = _order[i];
            hmac.AppendEntry(_keys[at], _clocks.AsSpan(_clockStart[at], _clockStart[at + 1] - _clockStart[at]), _tags[at]);
        }

        public DependencySet ToDependencySet(WriteTag highest)
        {
            if (Count == 0) return DependencySet.Empty.Observing(highest);
            var dependencies = new Dependency[Count];
            for (var i = 0; i < Count; i++)
                dependencies[i] = new Dependency(VersionVector.OfSorted(_clocks.AsSpan(_clockStart[i], _clockStart[i + 1] - _clockStart[i]).ToArray()), _tags[i]);
            return DependencySet.OfDistinct(_keys, dependencies, Count, highest);
        }

        public void Dispose()
        {
            Array.Clear(_keys, 0, Count);
            ArrayPool<string>.Shared.Return(_keys);
            ArrayPool<WriteTag>.Shared.Return(_tags);
            ArrayPool<int>.Shared.Return(_clockStart);
            ArrayPool<int>.Shared.Return(_order);
            ArrayPool<VersionVector.Entry>.Shared.Return(_clocks);
        }
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

    /// <summary>
    /// Writes <paramref name="deps"/> as metadata. The entries are put in key order once, for the JSON and the MAC alike.
    /// </summary>
    public void Write(Utf8JsonWriter writer, DependencySet deps)
    {
        writer.WriteStartObject();
        if (!deps.IsBlank)
        {
            var count = deps.Count;
            var entries = ArrayPool<KeyValuePair<string, Dependency>>.Shared.Rent(Math.Max(count, 1));
            try
            {
                var n = 0;
                foreach (var entry in deps.Entries) entries[n++] = entry;
                var sorted = entries.AsSpan(0, n);
                sorted.Sort(ByKey);
                WriteSigned(writer, deps, sorted);
            }
            finally
            {
                Array.Clear(entries, 0, count);
                ArrayPool<KeyValuePair<string, Dependency>>.Shared.Return(entries);
            }
        }
        writer.WriteEndObject();
    }

    private void WriteSigned(Utf8JsonWriter writer, DependencySet deps, ReadOnlySpan<KeyValuePair<string, Dependency>> sorted)
    {
        writer.WriteString("ckv", _clusterId);
        writer.WriteStartObject("d");
        foreach (var (key, dep) in sorted)
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
            ComputeMac(deps, sorted, mac);
            Span<char> text = stackalloc char[24];
            var n = Base64Url.EncodeToChars(mac, text);
            writer.WriteString("m", text[..n]);
        }
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
