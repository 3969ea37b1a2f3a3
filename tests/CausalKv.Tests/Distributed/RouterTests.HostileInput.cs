using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Sharding;
using CausalKv.Tests.Protocol;
using FsCheck.Fluent;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// What a hostile or careless client sends, at every node and at the router of a cluster of two shards: keys that URLs
/// give a meaning to, bytes that are not text, bodies that trickle. Each is stored byte for byte, or refused with a
/// JSON 4xx that changes nothing and logs no stack trace.
/// </summary>
public sealed partial class RouterTests
{
    private static readonly string[] Entries = ["node0", "node1", "node2", "node3", "router"];

    private static readonly UriCreationOptions AsSent = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>The request target of a key as api.md asks clients to send it: one path segment, every reserved byte escaped.</summary>
    internal static string KeyTarget(string key) =>
        "/data/" + (key is "." or ".." ? key.Replace(".", "%2E", StringComparison.Ordinal) : Uri.EscapeDataString(key));

    /// <summary>An absolute URI that no part of HttpClient re-normalizes (no dot segments removed, no escapes undone).</summary>
    private static Uri Raw(HttpClient client, string target) => new(client.BaseAddress!.GetLeftPart(UriPartial.Authority) + target, AsSent);

    private static async Task<(HttpStatusCode Status, JsonObject? Body)> SendAsync(HttpClient client, HttpMethod method, string target, HttpContent? content = null,
        Action<HttpRequestMessage>? setup = null)
    {
        using var request = new HttpRequestMessage(method, Raw(client, target)) { Content = content };
        setup?.Invoke(request);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonObject? body = null;
        try { body = JsonNode.Parse(text) as JsonObject; }
        catch (System.Text.Json.JsonException) { }
        return (response.StatusCode, body);
    }

    private static StringContent Value(string value, JsonNode? metadata = null) =>
        Json(new JsonObject { ["value"] = value, ["causal-metadata"] = metadata?.DeepClone() }.ToJsonString());

    [Fact]
    public async Task Every_key_is_stored_byte_for_byte_whichever_node_or_router_it_is_sent_to()
    {
        var ring = new HashRing(cluster.App.Layout.Keys);
        var keys = KeyGenerators.Key.Sample(120, 25).Select(k => _p + k)
            .Concat(KeyGenerators.DotKeys) // bare: written once per cluster, they collide with nothing
            .Concat([_p + "k%45", _p + "50%25off", _p + "50%off", _p + "a%2Fb", _p + "a/b", _p + "a%252Fb", _p + "%2E", _p + "q?x=1#f", _p + "sp ace+plus"])
            .Where(k => Encoding.UTF8.GetByteCount(k) <= 1024)
            .Distinct(StringComparer.Ordinal).ToList();
        var values = keys.Select((k, i) => (Key: k, Value: $"{_p}value-{i}")).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var sessions = new ConcurrentDictionary<string, KvSession>(StringComparer.Ordinal);
        var wrong = new ConcurrentBag<string>();
        var forwarded = new ConcurrentBag<string>();

        // Each key is written through one entry (a node that may not own it, which forwards it, or the router) ...
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(keys.Select(async (key, i) =>
        {
            await gate.WaitAsync();
            try
            {
                var entry = Entries[i % Entries.Length];
                if (entry != "router" && !cluster.App.Layout[ring.ShardFor(key)].Contains(KvApp.NodeId(entry))) forwarded.Add(key);
                var session = sessions[key] = new KvSession();
                var (status, body) = await SendAsync(cluster.Client(entry), HttpMethod.Put, KeyTarget(key), Value(values[key]));
                if (status != HttpStatusCode.Created) { wrong.Add($"PUT {Show(key)} via {entry}: {(int)status} {body?["error"]}"); return; }
                session.Metadata = body!["causal-metadata"]?.DeepClone();
                // ... and read back through every entry, after the write (the session's metadata makes a replica wait for it).
                foreach (var reader in Entries)
                {
                    var (readStatus, read) = await SendAsync(cluster.Client(reader), HttpMethod.Get, KeyTarget(key), Json(new JsonObject { ["causal-metadata"] = session.Metadata?.DeepClone() }.ToJsonString()));
                    var got = read?["value"]?.GetValue<string>();
                    if (readStatus != HttpStatusCode.OK || got != values[key])
                        wrong.Add($"GET {Show(key)} via {reader} (written via {entry}): {(int)readStatus} {got ?? read?["error"]?.ToString()}");
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        // Every shard's own GET /data holds each key exactly as sent, on its owner, and no value under another key.
        var misplaced = new List<string>();
        try
        {
            await Eventually.HoldsAsync(async () =>
        {
            misplaced.Clear();
            var held = new Dictionary<string, (string Value, string Shard)>(StringComparer.Ordinal);
            foreach (var (shard, ids) in cluster.App.Layout)
                foreach (var (k, v) in await ShardAssertions.ItemsAsync(cluster.Node(ids[0])))
                    held[k] = (v, shard);
            var byValue = values.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
            foreach (var (k, (v, shard)) in held)
                if (byValue.TryGetValue(v, out var sent) && sent != k) misplaced.Add($"{Show(sent)} stored as {Show(k)}");
            foreach (var (k, v) in values)
                if (!held.TryGetValue(k, out var h) || h.Value != v || h.Shard != ring.ShardFor(k)) misplaced.Add($"{Show(k)} not held by its owner {ring.ShardFor(k)}");
            return misplaced.Count == 0;
        }, TimeSpan.FromSeconds(30), "every key held by its owner as sent");
        }
        catch (TimeoutException)
        {
            // Counted and shown below, with what was read and written wrong.
        }

        var bad = wrong.Concat(misplaced).ToList();
        var badKeys = keys.Count(k => bad.Any(b => b.Contains(Show(k), StringComparison.Ordinal)));
        var badForwarded = forwarded.Count(k => bad.Any(b => b.Contains(Show(k), StringComparison.Ordinal)));
        Step($"{keys.Count} keys ({forwarded.Count} forwarded by a node that does not own them): {badKeys} wrong, {badForwarded} of the forwarded ones; " +
             $"{misplaced.Count(m => m.Contains(" stored as ", StringComparison.Ordinal))} stored under another key");
        foreach (var b in bad.Take(20)) Step("  " + b);
        Assert.True(bad.Count == 0, $"{badKeys} of {keys.Count} keys were not stored or read back byte for byte: {string.Join("; ", bad.Take(5))}");
    }

    private static string Show(string key) => $"'{Uri.EscapeDataString(key)}'";

    public static TheoryData<string> BadKeyEncodings => new()
    {
        "%", "%zz", "ab%4", "%4g", "%FF", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%E2%82",
    };

    [Theory]
    [MemberData(nameof(BadKeyEncodings))]
    public async Task A_key_that_is_not_percent_encoded_utf8_is_a_json_400_everywhere_and_changes_nothing(string segment)
    {
        var digests = await DigestsAsync();
        foreach (var entry in Entries)
        {
            foreach (var method in new[] { HttpMethod.Put, HttpMethod.Get, HttpMethod.Delete })
            {
                var (status, body) = await SendAsync(cluster.Client(entry), method, $"/data/{_p}{segment}", method == HttpMethod.Put ? Value("v") : null);
                Assert.True(status == HttpStatusCode.BadRequest && !string.IsNullOrWhiteSpace(body?["error"]?.GetValue<string>()),
                    $"{method} /data/{_p}{segment} via {entry}: {(int)status} {body?.ToJsonString()}");
            }
        }
        Assert.Equal(digests, await DigestsAsync());
    }

    [Fact]
    public async Task A_key_of_more_than_one_path_segment_is_a_json_400()
    {
        foreach (var entry in Entries)
        {
            var (status, body) = await SendAsync(cluster.Client(entry), HttpMethod.Put, $"/data/{_p}a/b", Value("v"));
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("%2F", body!["error"]!.GetValue<string>());
        }
    }

    /// <summary>Bodies that are JSON but not text: each names the part that is broken.</summary>
    public static TheoryData<string, byte[]> BadText()
    {
        static byte[] Bytes(params object[] parts) => parts.SelectMany(p => p is string s ? Encoding.UTF8.GetBytes(s) : (byte[])p).ToArray();
        return new TheoryData<string, byte[]>
        {
            { "lone high surrogate escape in the value", Bytes("{\"value\": \"a\\ud800b\"}") },
            { "lone low surrogate escape in the value", Bytes("{\"value\": \"\\udc00\"}") },
            { "reversed surrogate pair in the value", Bytes("{\"value\": \"\\udc00\\ud800\"}") },
            { "invalid UTF-8 bytes in the value", Bytes("{\"value\": \"a", new byte[] { 0xFF, 0xFE }, "b\"}") },
            { "an encoded surrogate (CESU) in the value", Bytes("{\"value\": \"", new byte[] { 0xED, 0xA0, 0x80 }, "\"}") },
            { "overlong UTF-8 in the value", Bytes("{\"value\": \"", new byte[] { 0xC0, 0xAF }, "\"}") },
            { "lone surrogate escape in a field name", Bytes("{\"value\": \"v\", \"\\ud800\": 1}") },
        };
    }

    [Theory]
    [MemberData(nameof(BadText))]
    public async Task A_value_that_is_not_text_is_a_json_400_everywhere_and_changes_nothing(string what, byte[] body)
    {
        var digests = await DigestsAsync();
        foreach (var entry in Entries)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            var (status, answer) = await SendAsync(cluster.Client(entry), HttpMethod.Put, KeyTarget($"{_p}text"), content);
            Assert.True(status == HttpStatusCode.BadRequest && !string.IsNullOrWhiteSpace(answer?["error"]?.GetValue<string>()),
                $"{what} via {entry}: {(int)status} {answer?.ToJsonString()}");
        }
        Assert.Equal(digests, await DigestsAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(cluster.Router, HttpMethod.Get, KeyTarget($"{_p}text"))).Status);
    }

    [Fact]
    public async Task A_metadata_dependency_key_that_is_not_text_is_a_json_400_in_the_body_and_in_the_header()
    {
        var id = CausalKv.Causality.CausalMetadataCodec.ClusterIdFor(cluster.App.ClusterKey);
        string Metadata(string key) => $$$"""{"ckv":"{{{id}}}","d":{"{{{key}}}":{"c":{"4398046511105":1},"t":[1,0]}},"m":"AAAAAAAAAAAAAAAAAAAAAA"}""";
        var digests = await DigestsAsync();
        var requests = 0;
        foreach (var entry in Entries)
        {
            foreach (var dependency in new[] { "\\ud800", "a\\udfff" })
            {
                var (status, answer) = await SendAsync(cluster.Client(entry), HttpMethod.Put, KeyTarget($"{_p}meta"),
                    Json($$"""{"value":"v","causal-metadata":{{Metadata(dependency)}}}"""));
                Assert.True(status == HttpStatusCode.BadRequest && answer?["error"] is not null, $"body metadata {dependency} via {entry}: {(int)status} {answer?.ToJsonString()}");
                (status, answer) = await SendAsync(cluster.Client(entry), HttpMethod.Get, KeyTarget($"{_p}meta"), null,
                    r => r.Headers.TryAddWithoutValidation("X-Causal-Metadata", Metadata(dependency)));
                Assert.True(status == HttpStatusCode.BadRequest && answer?["error"] is not null, $"header metadata {dependency} via {entry}: {(int)status} {answer?.ToJsonString()}");
                requests += 2;
            }
            var raw = Encoding.UTF8.GetBytes($$"""{"value":"v","causal-metadata":{{Metadata("dep-XYZ")}}}""");
            raw[raw.AsSpan().IndexOf("XYZ"u8)] = 0xFF;
            var content = new ByteArrayContent(raw);
            content.Headers.ContentType = new("application/json");
            var (rawStatus, rawAnswer) = await SendAsync(cluster.Client(entry), HttpMethod.Put, KeyTarget($"{_p}meta"), content);
            Assert.True(rawStatus == HttpStatusCode.BadRequest && rawAnswer?["error"] is not null, $"raw invalid UTF-8 dependency via {entry}: {(int)rawStatus}");
            requests++;
        }
        Assert.Equal(digests, await DigestsAsync());

        Step($"{requests} requests with a dependency key that is not text, through every entry: every one a JSON 400");
    }

    [Fact]
    public async Task A_max_size_value_is_accepted_however_it_is_escaped_and_one_byte_more_is_413()
    {
        var max = 1024 * 1024;
        var escaped = new StringBuilder(max * 6 + 64).Append("{\"value\": \"");
        for (var i = 0; i < max; i++) escaped.Append("\\u0041");
        escaped.Append("\"}");
        foreach (var entry in new[] { "node1", "router" })
        {
            var key = $"{_p}escaped-{entry}";
            var (status, answer) = await SendAsync(cluster.Client(entry), HttpMethod.Put, KeyTarget(key), Json(escaped.ToString()));
            Assert.True(status == HttpStatusCode.Created, $"a {max}-byte value written as \\u0041 escapes ({escaped.Length} bytes of JSON) via {entry}: {(int)status} {answer?["error"]}");
            var session = new KvSession { Metadata = answer!["causal-metadata"]?.DeepClone() };
            var read = await session.GetAsync(cluster.Client(entry), key);
            Assert.Equal(new string('A', max), read.Value);
            var over = escaped.ToString().Insert(11, "\\u0041");
            var (overStatus, overAnswer) = await SendAsync(cluster.Client(entry), HttpMethod.Put, KeyTarget(key + "-over"), Json(over));
            Assert.True(overStatus == HttpStatusCode.RequestEntityTooLarge && overAnswer?["error"] is not null, $"{max + 1} bytes via {entry}: {(int)overStatus}");
        }
    }

    [Fact]
    public async Task A_body_slower_than_the_minimum_data_rate_is_a_json_408()
    {
        foreach (var entry in new[] { "node1", "router" })
        {
            var endpoint = cluster.App.Endpoint(entry);
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(endpoint.Host, endpoint.Port);
            var stream = tcp.GetStream();
            var head = $"PUT {KeyTarget($"{_p}slow")} HTTP/1.1\r\nHost: {endpoint.Authority}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"value\": \"";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            var answer = ReadAnswerAsync(stream);
            var started = DateTime.UtcNow;
            // One byte a second, far under Kestrel's minimum of 240 bytes/s once its 5 s grace period is over.
            while (!answer.IsCompleted && DateTime.UtcNow - started < TimeSpan.FromSeconds(60))
            {
                try { await stream.WriteAsync("a"u8.ToArray()); }
                catch (IOException) { break; }
                await Task.WhenAny(answer, Task.Delay(1000));
            }
            var text = await answer.WaitAsync(TimeSpan.FromSeconds(30));
            Step($"{entry} answered the trickled body after {(DateTime.UtcNow - started).TotalSeconds:0.0} s: {text.Split('\n')[0].Trim()}");
            Assert.StartsWith("HTTP/1.1 408", text, StringComparison.Ordinal);
            var json = JsonNode.Parse(text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..])!;
            Assert.False(string.IsNullOrWhiteSpace(json["error"]?.GetValue<string>()));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(cluster.Router, HttpMethod.Get, KeyTarget($"{_p}slow"))).Status);

        static async Task<string> ReadAnswerAsync(NetworkStream stream)
        {
            var all = new MemoryStream();
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer)) > 0)
                {
                    all.Write(buffer, 0, n);
                    var text = Encoding.UTF8.GetString(all.ToArray());
                    var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                    if (end < 0) continue;
                    var length = text.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                    if (length is not null && all.Length >= end + 4 + int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)) break;
                }
            }
            catch (IOException) { }
            return Encoding.UTF8.GetString(all.ToArray());
        }
    }

    [Fact]
    public async Task A_view_with_no_room_for_a_next_epoch_or_an_address_that_is_not_one_plain_endpoint_is_a_json_400_and_changes_nothing()
    {
        var layout = cluster.App.Layout;
        JsonObject Body(long? epoch = null, Action<JsonObject>? change = null)
        {
            var body = cluster.App.ViewBody(layout, epoch);
            change?.Invoke(body["view"]!.AsObject());
            return body;
        }
        JsonObject Node(JsonObject view, int id) => view.SelectMany(s => s.Value!.AsArray()).Select(n => n!.AsObject()).Single(n => n["id"]!.GetValue<int>() == id);
        var first = Node(Body()["view"]!.AsObject(), 0)["address"]!.GetValue<string>();
        var (host, port) = (first[..first.LastIndexOf(':')], first[(first.LastIndexOf(':') + 1)..]);
        var bad = new (string What, JsonObject Body)[]
        {
            ("epoch long.MaxValue", Body(long.MaxValue)),
            ("epoch 2^53 + 1", Body(ShardView.MaxEpoch + 1)),
            ("a path in an address", Body(change: v => Node(v, 3)["address"] = $"evil/x:{port}")),
            ("a user in an address", Body(change: v => Node(v, 3)["address"] = $"user@{host}:{port}")),
            ("a query in an address", Body(change: v => Node(v, 3)["address"] = $"{host}?x:{port}")),
            ("node 3 at node 0's address spelled as IPv4-mapped IPv6", Body(change: v => Node(v, 3)["address"] = $"[::ffff:{host}]:{port}")),
            ("node 3 at node 0's address with a leading zero", Body(change: v => Node(v, 3)["address"] = $"{host[..host.LastIndexOf('.')]}.0{host[(host.LastIndexOf('.') + 1)..]}:{port}")),
            ("a node 9 at node 0's address", Body(change: v => v.First().Value!.AsArray().Add(new JsonObject { ["address"] = first, ["id"] = 9 }))),
        };
        var views = await Task.WhenAll(Entries.Select(e => cluster.Client(e).GetStringAsync("/view")));
        foreach (var target in new[] { "node0", "router" })
        {
            foreach (var (what, body) in bad)
            {
                var (status, answer) = await SendAsync(cluster.Client(target), HttpMethod.Put, "/view", Json(body.ToJsonString()),
                    r => r.Headers.Add(CausalKv.Protocol.ProtocolHeaders.ClusterKey, cluster.App.ClusterKey));
                Step($"PUT /view at {target} with {what}: {(int)status} {answer?["error"]}");
                Assert.True(status == HttpStatusCode.BadRequest && !string.IsNullOrWhiteSpace(answer?["error"]?.GetValue<string>()), $"{what} at {target}: {(int)status}");
            }
        }
        Assert.Equal(views, await Task.WhenAll(Entries.Select(e => cluster.Client(e).GetStringAsync("/view"))));
    }
}
