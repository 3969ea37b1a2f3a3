using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// Sends random and mutated HTTP requests, as raw bytes on a socket of their own, to the nodes and the router of a
/// running cluster, and checks what a store owes every client whatever it sends: an answer (no hang), never a 5xx but a
/// 503 that says why, a JSON <c>{"error": ...}</c> with every refusal, every target still answering <c>/ping</c>, and
/// no acknowledged write changed. Requests mix methods, paths (keys with <c>%</c>, <c>/</c>, <c>..</c>, <c>?</c>,
/// <c>#</c>, <c>+</c>, spaces, non-ASCII; escapes valid, double and broken), headers (metadata, hops, cluster key,
/// content types, chunked bodies) and bodies (JSON of every shape, lone surrogates, invalid UTF-8, deep nesting, sizes
/// up to past the limits). Acknowledged writes are checked two ways: sentinel keys written before the run (some fuzzed
/// keys decode to a sentinel's name if a node decodes twice) keep their values, and every fuzzed PUT that was
/// acknowledged under a key of its own reads back with its value. The run is a function of its seed.
/// </summary>
public sealed class HttpSurfaceFuzzer(int seed, IReadOnlyList<(string Name, Uri Endpoint)> targets, string prefix)
{
    private const int Sentinels = 8;
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(25);
    private static readonly string[] Methods = ["GET", "GET", "GET", "PUT", "PUT", "PUT", "DELETE", "POST", "PATCH", "HEAD", "OPTIONS", "BREW"];
    private static readonly string[] OtherPaths =
    [
        "/data", "/data/", "/view", "/ping", "/health", "/alive", "/admin/status", "/admin/digest", "/admin/faults",
        "/internal/gossip", "/internal/replicate", "/internal/handoff", "/cluster", "/cluster/state", "//data", "/data//x",
        "/%2e%2e/data", "/data/%2e%2e", "/data/..", "/data/.", "/DATA/x", "/nothing/here", "/data/a/b", "/data?prefix=x&limit=-1",
        "/data?limit=0", "/data?cursor=%%%", "/data?limit=99999999999", "/data?prefix=%FF",
    ];
    private static readonly string[] KeyParts =
    [
        "a", "key", "%", "%25", "%2F", "%41", "/", "..", ".", "?", "#", "+", " ", "&", "=", ";", "é", "日本", "🙂", "\t", "\\", "\"", "'",
        "<", "~", "%2E", "sentinel%2D", "%73entinel-", "\u00a0", "\u200b", "ﬀ",
    ];
    private static readonly string[] ContentTypes =
        ["application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "garbage/\u00ff", ""];

    private readonly Random _random = new(seed);
    private readonly Dictionary<int, int> _statuses = [];
    private readonly List<string> _findings = [];
    private readonly List<(string Key, string Value, string Metadata)> _acknowledged = [];
    private string _realMetadata = "{}";
    private int _unique;

    public IReadOnlyDictionary<int, int> Statuses => _statuses;

    public IReadOnlyList<string> Findings => _findings;

    public int Acknowledged => _acknowledged.Count;

    public int Requests { get; private set; }

    /// <summary>Writes the sentinels, sends <paramref name="requests"/> fuzzed requests, then checks the sentinels and every acknowledged write.</summary>
    public async Task RunAsync(int requests, CancellationToken ct = default)
    {
        var sentinelMetadata = await WriteSentinelsAsync(ct);
        for (var i = 0; i < requests && _findings.Count < 20; i++)
        {
            var request = NextRequest(out var target, out var protocolLevel, out var acknowledgeAs);
            var answer = await SendAsync(targets[target].Endpoint, request, ct);
            Requests++;
            Check(targets[target].Name, request, answer, protocolLevel);
            if (acknowledgeAs is { } ack && answer.Status is 200 or 201 && TryMetadata(answer.Body) is { } metadata)
                _acknowledged.Add((ack.Key, ack.Value, metadata));
            if (i % 50 == 49) await PingAllAsync(ct);
        }
        await PingAllAsync(ct);
        await CheckSentinelsAsync(sentinelMetadata, ct);
        await CheckAcknowledgedAsync(ct);
    }

    private sealed record Answer(int Status, string Headers, byte[] Body, string? Failure);

    private void Check(string target, byte[] request, Answer answer, bool protocolLevel)
    {
        _statuses[answer.Status] = _statuses.GetValueOrDefault(answer.Status) + 1;
        var head = Encoding.UTF8.GetString(request, 0, Math.Min(request.Length, 160)).Split("\r\n")[0];
        if (answer.Failure is not null)
        {
            Find($"{target}: {head}: {answer.Failure}");
            return;
        }
        if (answer.Status >= 500 && answer.Status != 503)
        {
            Find($"{target}: {head}: {answer.Status} {Show(answer.Body)}");
            return;
        }
        if (answer.Status < 400 || head.StartsWith("HEAD ", StringComparison.Ordinal)) return;
        // Kestrel refuses a request it cannot parse as HTTP before any code of ours runs, with an empty body.
        if (protocolLevel && answer.Body.Length == 0 && answer.Status is 400 or 405 or 413 or 414 or 431 or 501) return;
        if (!IsJsonError(answer.Body))
            Find($"{target}: {head}: {answer.Status} without a JSON error ({Show(answer.Body)})");
    }

    private void Find(string finding) => _findings.Add(finding);

    private static string Show(byte[] body) => body.Length == 0 ? "empty body" : Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200));

    private static bool IsJsonError(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? TryMetadata(byte[] body)
    {
        try
        {
            return JsonNode.Parse(body)?["causal-metadata"]?.ToJsonString();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // ---- generation ------------------------------------------------------------------------------------------------

    private byte[] NextRequest(out int target, out bool protocolLevel, out (string Key, string Value)? acknowledgeAs)
    {
        target = _random.Next(targets.Count);
        protocolLevel = false;
        acknowledgeAs = null;
        var method = Pick(Methods);
        string path;
        string? key = null;
        var roll = _random.Next(100);
        if (roll < 70)
        {
            key = FuzzKey();
            path = "/data/" + EncodeKey(key, out var clean);
            protocolLevel |= !clean;
        }
        else
        {
            path = Pick(OtherPaths);
        }
        if (_random.Next(20) == 0) path += "?" + Pick(["limit=5", "cursor=abc", "prefix=%", "x=%ZZ", "limit=-3&prefix=a", "a=b#frag"]);
        if (_random.Next(40) == 0) { method = Pick(["G ET", "GET\u00e9", "", "PUT\t"]); protocolLevel = true; }

        // A well-formed write of a key of its own: acknowledged, it must read back as written.
        if (roll < 70 && method == "PUT" && _random.Next(3) == 0)
        {
            key = $"{prefix}ack{_unique++}-" + FuzzKey();
            if (Encoding.UTF8.GetByteCount(key) <= 1024 && !HasLoneSurrogate(key))
            {
                var value = "v" + _unique + Pick(["", " with spaces", "\u00e9\u65e5", "\\\"quoted\\\"", "%41"]);
                var bodyText = $"{{\"value\":{JsonSerializer.Serialize(value)},\"causal-metadata\":{(_random.Next(2) == 0 ? "{}" : _realMetadata)}}}";
                acknowledgeAs = (key, value);
                return Build("PUT", "/data/" + Uri.EscapeDataString(key), [("Content-Type", "application/json")], Encoding.UTF8.GetBytes(bodyText), chunked: false);
            }
        }

        var headers = new List<(string, string)>();
        var contentType = Pick(ContentTypes);
        if (contentType.Length > 0) headers.Add(("Content-Type", contentType));
        if (_random.Next(6) == 0) headers.Add(("X-Causal-Metadata", FuzzMetadata()));
        if (_random.Next(8) == 0) headers.Add(("X-CausalKv-Hops", Pick(["-1", "-2147483648", "2147483647", "99999999999", "abc", "1", "2", "3", " 0"])));
        if (_random.Next(12) == 0) headers.Add(("X-CausalKv-Key", Pick(["wrong", "", "bench", "\u00ff\u00fe"])));
        if (_random.Next(30) == 0) headers.Add(("X-Bad\u00e9Header", "x"));
        // Kestrel refuses names and values outside ASCII itself.
        protocolLevel |= headers.Any(h => !Ascii.IsValid(h.Item1) || !Ascii.IsValid(h.Item2));
        var body = FuzzBody(method, path);
        return Build(method, path, headers, body, chunked: body.Length > 0 && _random.Next(8) == 0);
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return true;
        }
        return false;
    }

    private string FuzzKey()
    {
        var roll = _random.Next(40);
        if (roll == 0) return "";
        if (roll == 1) return new string('k', 1025);
        if (roll == 2) return "\ud800" + "x";
        if (roll == 3) return $"sentinel%2D{_random.Next(Sentinels)}";
        if (roll == 4) return $"%73entinel-{_random.Next(Sentinels)}";
        var parts = _random.Next(1, 6);
        var sb = new StringBuilder();
        for (var i = 0; i < parts; i++) sb.Append(Pick(KeyParts));
        return sb.ToString();
    }

    /// <summary>The key as a path segment: mostly escaped once (clean), sometimes raw, double-escaped or broken.</summary>
    private string EncodeKey(string key, out bool clean)
    {
        clean = true;
        switch (_random.Next(12))
        {
            // A '%' sent as it is may form an escape with what follows, and name another key (a sentinel): those two
            // spellings are kept to keys without one.
            case 0 when !key.Contains('%'):
                // Raw: spaces, '#', '?' and non-ASCII in the request line.
                clean = false;
                return key;
            case 1 when !HasLoneSurrogate(key):
                return Uri.EscapeDataString(Uri.EscapeDataString(key));
            case 2 when !HasLoneSurrogate(key):
                clean = false;
                return Uri.EscapeDataString(key) + Pick(["%", "%G1", "%C3", "%FF", "%ED%A0%80", "%C0%AF"]);
            case 3 when !HasLoneSurrogate(key) && !key.Contains('%'):
                // Everything escaped but '/', which stays as it is.
                return Uri.EscapeDataString(key).Replace("%2F", "/", StringComparison.Ordinal);
            default:
                // A lone surrogate has no UTF-8 form: it goes as the bytes of one (CESU-8), which are not UTF-8.
                return HasLoneSurrogate(key) ? "%ED%A0%80" + Uri.EscapeDataString(key.Replace("\ud800", "")) : Uri.EscapeDataString(key);
        }
    }

    private string FuzzMetadata() => _random.Next(8) switch
    {
        0 => "{}",
        1 => _realMetadata,
        2 => Mutate(_realMetadata),
        3 => "not json",
        4 => "null",
        5 => "[1,2,3]",
        6 => """{"ckv":"x","d":{"k":{"c":{"1":1},"t":[1,1]}},"m":"AAAAAAAAAAAAAAAAAAAAAA"}""",
        _ => new string('{', 200),
    };

    private string Mutate(string json)
    {
        if (json.Length < 3) return json + "x";
        var chars = json.ToCharArray();
        for (var i = 0; i < 1 + _random.Next(3); i++)
            chars[_random.Next(chars.Length)] = Pick(['0', '9', '"', '{', '}', ',', 'x', '-', '\\', ':']);
        return new string(chars);
    }

    private byte[] FuzzBody(string method, string path)
    {
        var roll = _random.Next(28);
        string? text = roll switch
        {
            0 or 1 => null,
            2 => "",
            3 => "null",
            4 => "[]",
            5 => "42",
            6 => """{"value": 1}""",
            7 => """{"value": null}""",
            8 => """{"value": {"a": 1}}""",
            9 => """{"value": "\ud800"}""",
            10 => """{"value": "ok", "causal-metadata": {"ckv":"x","d":{"\udc00":{"c":{"1":1},"t":[1,1]}}}}""",
            11 => """{"value": "trunc""",
            12 => new string('[', 100) + new string(']', 100),
            13 => """{"value": "a", "value": "b"}""",
            14 => $$"""{"value": "x", "causal-metadata": {{Mutate(_realMetadata)}}}""",
            15 => $$"""{"value": "x", "causal-metadata": {{_realMetadata}}}""",
            16 => """{"view": {"shard0": [{"address": "127.0.0.1:1/x", "id": 0}]}, "epoch": 9223372036854775807}""",
            17 => """{"blocked": [0, 1, 2]}""",
            18 => """{"value": """ + JsonSerializer.Serialize(new string('v', _random.Next(2) == 0 ? 70_000 : 1_048_577)) + "}",
            19 => """{"value": """ + string.Concat(Enumerable.Repeat("\\u0041", 20_000)).Insert(0, "\"") + "\"}",
            20 => $$"""{"causal-metadata": {{_realMetadata}}}""",
            21 => """{"causal-metadata": "string"}""",
            _ => null,
        };
        if (text is not null) return Encoding.UTF8.GetBytes(text);
        return roll switch
        {
            22 => [0x7b, 0x22, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d], // {"value":"\xff\xfe"}
            23 => [0x7b, 0x22, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d], // a broken two-byte sequence
            24 => RandomBytes(_random.Next(1, 300)),
            25 => [0xef, 0xbb, 0xbf, .. "{\"value\":\"bom\"}"u8],
            _ => method == "PUT" ? Encoding.UTF8.GetBytes($"{{\"value\":\"fuzz{_unique++}\"}}") : [],
        };
    }

    private byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        _random.NextBytes(bytes);
        return bytes;
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private static byte[] Build(string method, string path, List<(string Name, string Value)> headers, byte[] body, bool chunked)
    {
        var head = new StringBuilder();
        head.Append(method).Append(' ').Append(path).Append(" HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n");
        foreach (var (name, value) in headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
        using var stream = new MemoryStream();
        if (chunked)
        {
            head.Append("Transfer-Encoding: chunked\r\n\r\n");
            stream.Write(Encoding.UTF8.GetBytes(head.ToString()));
            for (var at = 0; at < body.Length; at += 4096)
            {
                var n = Math.Min(4096, body.Length - at);
                stream.Write(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
                stream.Write(body, at, n);
                stream.Write("\r\n"u8);
            }
            stream.Write("0\r\n\r\n"u8);
        }
        else
        {
            if (body.Length > 0 || method is "PUT" or "POST" or "PATCH") head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
            head.Append("\r\n");
            stream.Write(Encoding.UTF8.GetBytes(head.ToString()));
            stream.Write(body);
        }
        return stream.ToArray();
    }

    // ---- the wire ----------------------------------------------------------------------------------------------------

    private static async Task<Answer> SendAsync(Uri endpoint, byte[] request, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(AnswerTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token);
            using var stream = new NetworkStream(socket, ownsSocket: false);
            // A server may answer (413, 400) and close before reading the whole body: that is an answer, not a failure.
            try { await stream.WriteAsync(request, timeout.Token); }
            catch (IOException) { }
            using var response = new MemoryStream();
            try { await stream.CopyToAsync(response, timeout.Token); }
            catch (IOException) when (response.Length > 0) { }
            return Parse(response.ToArray());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Answer(0, "", [], $"no answer within {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s");
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return new Answer(0, "", [], $"connection failed: {e.Message}");
        }
    }

    private static Answer Parse(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0) return new Answer(0, "", [], raw.Length == 0 ? "the connection closed without an answer" : "an answer without a complete head");
        var head = Encoding.ASCII.GetString(raw, 0, end);
        var statusLine = head.Split("\r\n")[0].Split(' ');
        if (statusLine.Length < 2 || !int.TryParse(statusLine[1], CultureInfo.InvariantCulture, out var status))
            return new Answer(0, head, [], $"an unreadable status line: {statusLine[0]}");
        var body = raw.AsSpan(end + 4).ToArray();
        if (head.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase)) body = Dechunk(body);
        return new Answer(status, head, body, null);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var at = 0;
        while (at < chunked.Length)
        {
            var line = chunked.AsSpan(at).IndexOf("\r\n"u8);
            if (line < 0) break;
            var size = int.Parse(Encoding.ASCII.GetString(chunked, at, line).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            at += line + 2;
            if (size == 0) break;
            body.Write(chunked, at, Math.Min(size, chunked.Length - at));
            at += size + 2;
        }
        return body.ToArray();
    }

    // ---- what must still hold ----------------------------------------------------------------------------------------

    private async Task<string> WriteSentinelsAsync(CancellationToken ct)
    {
        var metadata = "{}";
        for (var i = 0; i < Sentinels; i++)
        {
            var body = Encoding.UTF8.GetBytes($"{{\"value\":\"sentinel value {i}\",\"causal-metadata\":{metadata}}}");
            var answer = await SendAsync(targets[i % targets.Count].Endpoint,
                Build("PUT", $"/data/sentinel-{i}", [("Content-Type", "application/json")], body, chunked: false), ct);
            if (answer.Status is not (200 or 201) || TryMetadata(answer.Body) is not { } next)
                throw new InvalidOperationException($"Writing sentinel-{i} failed: {answer.Status} {answer.Failure} {Show(answer.Body)}");
            metadata = next;
        }
        _realMetadata = metadata;
        return metadata;
    }

    private async Task CheckSentinelsAsync(string metadata, CancellationToken ct)
    {
        for (var i = 0; i < Sentinels; i++)
        {
            foreach (var (name, endpoint) in targets)
            {
                var answer = await SendAsync(endpoint, Build("GET", $"/data/sentinel-{i}", [("X-Causal-Metadata", metadata)], [], chunked: false), ct);
                var value = answer.Status == 200 ? JsonNode.Parse(answer.Body)?["value"]?.GetValue<string>() : null;
                if (value != $"sentinel value {i}")
                    Find($"{name}: sentinel-{i} changed: {answer.Status} {answer.Failure} {Show(answer.Body)}");
            }
        }
    }

    private async Task CheckAcknowledgedAsync(CancellationToken ct)
    {
        foreach (var (key, value, metadata) in _acknowledged)
        {
            var (name, endpoint) = targets[_random.Next(targets.Count)];
            var answer = await SendAsync(endpoint, Build("GET", "/data/" + Uri.EscapeDataString(key), [("X-Causal-Metadata", metadata)], [], chunked: false), ct);
            var read = answer.Status == 200 ? JsonNode.Parse(answer.Body)?["value"]?.GetValue<string>() : null;
            if (read != value)
                Find($"{name}: the acknowledged write of {JsonSerializer.Serialize(key)} = {JsonSerializer.Serialize(value)} reads back as {answer.Status} {Show(answer.Body)}");
        }
    }

    private async Task PingAllAsync(CancellationToken ct)
    {
        foreach (var (name, endpoint) in targets)
        {
            var answer = await SendAsync(endpoint, Build("GET", "/ping", [], [], chunked: false), ct);
            if (answer.Status != 200) Find($"{name} stopped answering /ping: {answer.Status} {answer.Failure}");
        }
    }
}
