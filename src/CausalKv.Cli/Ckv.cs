using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CausalKv.Client;
using CausalKv.Protocol;
using CausalKv.Sharding;

namespace CausalKv.Cli;

/// <summary>
/// <c>ckv get|put|del|ls|view|status</c>: the store from a shell. Commands share a session through a file, so each is
/// causally after the ones before it; <c>--json</c> prints what scripts parse; <see cref="ExitCodes"/> tell not-found
/// from failures.
/// </summary>
public static class Ckv
{
    public const string UrlVariable = "CKV_URL";
    public const string SessionVariable = "CKV_SESSION";
    public const string DefaultUrl = "http://localhost:8080";

    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs one command line; <paramref name="environment"/> replaces the process environment (for tests).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, Func<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var url = new Option<string>("--url", "-u")
        {
            Description = $"The router's or a node's URL (environment {UrlVariable}; default {DefaultUrl}).",
            Recursive = true,
            DefaultValueFactory = _ => environment(UrlVariable) ?? DefaultUrl,
        };
        var sessionPath = new Option<string>("--session")
        {
            Description = $"The file that keeps the session between commands (environment {SessionVariable}; default ~/{SessionFile.DefaultName}).",
            Recursive = true,
            DefaultValueFactory = _ => environment(SessionVariable) ?? SessionFile.DefaultPath,
        };
        var noSession = new Option<bool>("--no-session") { Description = "Start a new session and keep nothing.", Recursive = true };
        var json = new Option<bool>("--json") { Description = "Print JSON, for scripts.", Recursive = true };
        var direct = new Option<bool>("--direct")
        {
            Description = "Send each request straight to a replica of the key's shard (learning the view first) instead of to --url.",
            Recursive = true,
        };
        var key = new Argument<string>("key") { Description = "The key." };
        var value = new Argument<string>("value") { Description = "The value; - reads it from standard input." };

        var root = new RootCommand("ckv: the command line of CausalKv, a sharded, causally consistent key-value store.")
        {
            Options = { url, sessionPath, noSession, json, direct },
        };

        Context Open(ParseResult p) => new(p.GetValue(url)!, p.GetValue(noSession) ? null : p.GetValue(sessionPath), p.GetValue(json), p.GetValue(direct), output, error);

        var get = new Command("get", "Print the value of a key (exit code 3 when it does not exist).") { Arguments = { key } };
        get.SetAction((p, ct) => Open(p).RunAsync(async (c, client, session) =>
        {
            var k = p.GetValue(key)!;
            var found = await client.TryGetAsync(session, k, ct);
            if (c.Json) c.WriteJson(w => { w.WriteString("key", k); w.WriteBoolean("found", found.Found); if (found.Found) w.WriteString("value", found.Value); });
            else if (found.Found) c.Output.WriteLine(found.Value);
            else c.Error.WriteLine($"ckv: '{k}' does not exist.");
            return found.Found ? ExitCodes.Ok : ExitCodes.NotFound;
        }, ct));

        var put = new Command("put", "Write a value under a key.") { Arguments = { key, value } };
        put.SetAction((p, ct) => Open(p).RunAsync(async (c, client, session) =>
        {
            var k = p.GetValue(key)!;
            var v = p.GetValue(value)!;
            if (v == "-") v = await Console.In.ReadToEndAsync(ct);
            await client.PutAsync(session, k, v, ct);
            if (c.Json) c.WriteJson(w => { w.WriteString("key", k); w.WriteBoolean("written", true); });
            return ExitCodes.Ok;
        }, ct));

        var del = new Command("del", "Delete a key (exit code 3 when it does not exist).") { Arguments = { key } };
        del.SetAction((p, ct) => Open(p).RunAsync(async (c, client, session) =>
        {
            var k = p.GetValue(key)!;
            var deleted = await client.DeleteAsync(session, k, ct);
            if (c.Json) c.WriteJson(w => { w.WriteString("key", k); w.WriteBoolean("deleted", deleted); });
            else if (!deleted) c.Error.WriteLine($"ckv: '{k}' does not exist.");
            return deleted ? ExitCodes.Ok : ExitCodes.NotFound;
        }, ct));

        var prefix = new Option<string>("--prefix") { Description = "List only the keys that start with this.", DefaultValueFactory = _ => "" };
        var limit = new Option<int?>("--limit", "-n") { Description = "List at most this many keys (the first ones in listing order: shard by shard, each by key)." };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--limit must be at least 1.");
        });
        var ls = new Command("ls", "List keys and their values, read from the store a page at a time.") { Options = { prefix, limit } };
        ls.SetAction((p, ct) => Open(p).RunAsync(async (c, client, session) =>
        {
            var max = p.GetValue(limit) ?? int.MaxValue;
            var pageSize = Math.Min(max, CausalKvClient.DefaultPageSize);
            var items = new List<KeyValuePair<string, string>>();
            await foreach (var (k, v) in client.GetAllAsync(session, p.GetValue(prefix) ?? "", pageSize, ct))
            {
                // A table shows a cell of each value: only that is kept.
                items.Add(new(k, c.Json ? v : TextTable.Cell(v)));
                if (items.Count >= max) break;
            }
            if (c.Json)
            {
                c.WriteJson(w =>
                {
                    w.WriteStartObject("items");
                    foreach (var (k, v) in items) w.WriteString(k, v);
                    w.WriteEndObject();
                });
            }
            else
            {
                c.Output.Write(TextTable.Render(["KEY", "VALUE"], items.Select(kv => (IReadOnlyList<string>)[kv.Key, kv.Value])));
                c.Output.WriteLine($"{items.Count} key(s)");
            }
            return ExitCodes.Ok;
        }, ct));

        var view = new Command("view", "Show the view: the shards and their nodes.");
        view.SetAction((p, ct) => Open(p).RunAsync(async (c, _, _) =>
        {
            var (text, layout) = await c.ReadViewAsync(ct);
            if (c.Json) c.Output.WriteLine(text);
            else if (layout is null) c.Output.WriteLine("No view installed yet.");
            else
            {
                c.Output.WriteLine($"epoch {layout.Epoch}");
                c.Output.Write(TextTable.Render(["SHARD", "NODE", "ADDRESS"],
                    layout.ShardNames.SelectMany(s => layout.NodesOf(s).Select(n => (IReadOnlyList<string>)[s, n.Id.ToString(CultureInfo.InvariantCulture), n.Address]))));
            }
            return ExitCodes.Ok;
        }, ct, needsClient: false));

        var status = new Command("status", "Show every node of the view: its shard, epoch, keys and peers.");
        status.SetAction((p, ct) => Open(p).RunAsync(async (c, _, _) =>
        {
            var (_, layout) = await c.ReadViewAsync(ct);
            if (layout is null)
            {
                c.Error.WriteLine("ckv: no view installed yet.");
                return ExitCodes.Failed;
            }
            var nodes = layout.AllNodes;
            var answers = await Task.WhenAll(nodes.Select(n => c.ReadStatusAsync(n, ct)));
            if (c.Json)
            {
                c.WriteJson(w =>
                {
                    w.WriteNumber("epoch", layout.Epoch);
                    w.WriteStartArray("nodes");
                    foreach (var (node, answer) in nodes.Zip(answers))
                    {
                        w.WriteStartObject();
                        w.WriteNumber("id", node.Id);
                        w.WriteString("address", node.Address);
                        w.WriteString("shard", layout.ShardOf(node.Id));
                        if (answer.Document is { } d) { w.WritePropertyName("status"); d.RootElement.WriteTo(w); }
                        else w.WriteString("error", answer.Error);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
            }
            else
            {
                c.Output.WriteLine($"epoch {layout.Epoch}");
                c.Output.Write(TextTable.Render(["NODE", "ADDRESS", "SHARD", "EPOCH", "KEYS", "CAUGHT-UP", "PEERS REACHABLE"],
                    nodes.Zip(answers).Select(x => Row(x.First, layout, x.Second))));
            }
            foreach (var a in answers) a.Document?.Dispose();
            return answers.All(a => a.Document is not null) ? ExitCodes.Ok : ExitCodes.Unreachable;
        }, ct, needsClient: false));

        root.Subcommands.Add(get);
        root.Subcommands.Add(put);
        root.Subcommands.Add(del);
        root.Subcommands.Add(ls);
        root.Subcommands.Add(view);
        root.Subcommands.Add(status);
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    private static IReadOnlyList<string> Row(ViewNode node, ShardView layout, (JsonDocument? Document, NodeStatusReport? Status, string? Error) answer)
    {
        var id = node.Id.ToString(CultureInfo.InvariantCulture);
        if (answer.Status is not { } s) return [id, node.Address, layout.ShardOf(node.Id) ?? "", "-", "-", "-", "unreachable: " + answer.Error];
        var peers = s.Peers is { } p ? $"{p.Count(x => x.Reachable)}/{p.Length}" : "-";
        return [id, node.Address, s.Shard ?? "-", s.Epoch.ToString(CultureInfo.InvariantCulture), s.Keys.ToString(CultureInfo.InvariantCulture),
            s.CaughtUp ? "yes" : "no", peers];
    }

    /// <summary>One command's connection to the store, its session file and its output.</summary>
    private sealed class Context(string url, string? sessionPath, bool json, bool direct, TextWriter output, TextWriter error)
    {
        public bool Json => json;

        public TextWriter Output => output;

        public TextWriter Error => error;

        private Uri? _base;

        public async Task<int> RunAsync(Func<Context, CausalKvClient, CausalKvSession, Task<int>> command, CancellationToken ct, bool needsClient = true)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out _base) || _base.Scheme is not ("http" or "https"))
            {
                await error.WriteLineAsync($"ckv: --url '{url}' is not an http(s) URL.");
                return ExitCodes.Usage;
            }
            var file = new SessionFile(sessionPath);
            using var client = new CausalKvClient(new CausalKvClientOptions
            {
                Endpoints = [_base],
                Routing = direct ? CausalKvRouting.Direct : CausalKvRouting.ViaRouter,
                RequestTimeout = TimeSpan.FromSeconds(45),
            });
            var session = needsClient ? file.Load() : new CausalKvSession();
            try
            {
                var code = await command(this, client, session);
                if (needsClient) file.Save(session);
                return code;
            }
            catch (CausalKvException e)
            {
                // The session still took what the store answered (e.g. at a causal-wait deadline): keep it.
                if (needsClient) file.Save(session);
                await error.WriteLineAsync("ckv: " + e.Message);
                return e switch
                {
                    CausalKvRequestRefusedException => ExitCodes.Refused,
                    CausalWaitTimeoutException => ExitCodes.CausalWaitTimeout,
                    CausalKvShardUnreachableException => ExitCodes.Unreachable,
                    _ => ExitCodes.Failed,
                };
            }
            catch (HttpRequestException e)
            {
                await error.WriteLineAsync($"ckv: {_base} could not be reached ({e.Message}).");
                return ExitCodes.Unreachable;
            }
        }

        public void WriteJson(Action<Utf8JsonWriter> body)
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, Indented))
            {
                w.WriteStartObject();
                body(w);
                w.WriteEndObject();
            }
            output.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(2) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };

        public async Task<(string Text, ShardView? View)> ReadViewAsync(CancellationToken ct)
        {
            var body = await Http.GetByteArrayAsync(new Uri(_base!, "/view"), ct);
            if (!ViewJson.TryReadNodeAnswer(body, out _, out var view)) throw new CausalKvException($"{_base} answered GET /view with something that is not a view.");
            return (Encoding.UTF8.GetString(body), view);
        }

        /// <returns>the status as the node wrote it (for <c>--json</c>) and as read</returns>
        public async Task<(JsonDocument? Document, NodeStatusReport? Status, string? Error)> ReadStatusAsync(ViewNode node, CancellationToken ct)
        {
            try
            {
                var body = await Http.GetByteArrayAsync(new Uri($"http://{node.Address}/admin/status"), ct);
                var status = JsonSerializer.Deserialize(body, NodeStatusJsonContext.Default.NodeStatusReport)
                    ?? throw new JsonException("The status is null.");
                return (JsonDocument.Parse(body), status, null);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return (null, null, e.Message);
            }
        }
    }
}
