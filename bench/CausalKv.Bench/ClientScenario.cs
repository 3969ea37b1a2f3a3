using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CausalKv.Client;
using CausalKv.Sharding;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// What the client's direct routing buys: the same .NET load loop (64 requests in flight, 100-byte values, a session per
/// worker carrying its metadata) against one cluster of 2 shards of 2 replicas, through CausalKvClient routed directly,
/// through CausalKvClient via the router, and through a bare HttpClient that sends each request to a replica of the
/// key's shard itself (hashing with the same ring). Targets are interleaved in every round.
/// </summary>
internal static class ClientScenario
{
    private const int Keys = 10_000;
    private const int Concurrency = 64;
    private static readonly string[] AllTargets = ["client direct", "client via router", "raw HttpClient to owner", "plain HttpClient to owner"];
    private static readonly string[] AllOps = ["GET", "PUT"];

    /// <summary>CLIENT_ONLY ("PUT", "client direct" or "PUT:client direct") narrows the runs, e.g. to profile one path; the report then lacks the ratios.</summary>
    private static readonly string? Only = Environment.GetEnvironmentVariable("CLIENT_ONLY");
    private static readonly string[] Targets = AllTargets.Where(t => Only is null || Only.Contains(t, StringComparison.Ordinal)).ToArray() is { Length: > 0 } t ? t : AllTargets;
    private static readonly string[] Ops = AllOps.Where(o => Only is null || Only.Contains(o, StringComparison.Ordinal)).ToArray() is { Length: > 0 } o ? o : AllOps;
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private sealed record Run(string Op, string Target, double OpsPerSecond, double P50Ms, double P99Ms, long Errors, double ClusterCpuMicros, double LoopCpuMicros,
        double MetadataBytes = 0, int MaxMetadataBytes = 0, double P99MetadataBytes = 0, double Dependencies = 0, double P99Dependencies = 0, double MaxMs = 0, long Requests = 0);

    public static async Task RunAsync(Report report)
    {
        Console.WriteLine("Starting 4 nodes in 2 shards and the router...");
        await using var app = await Cluster.StartAsync(() => KvApp.Create(nodes: 4, shards: 2));
        var keys = Enumerable.Range(0, Keys).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        using (var router = app.CreateHttpClient("router")) await Cluster.LoadAsync(router, keys);

        var directOptions = new CausalKvClientOptions { Endpoints = [app.Endpoint("router")] };
        var routerOptions = new CausalKvClientOptions { Endpoints = [app.Endpoint("router")], Routing = CausalKvRouting.ViaRouter };
        var directFailures = new FailureCounter(directOptions.ConnectTimeout);
        var routerFailures = new FailureCounter(routerOptions.ConnectTimeout);
        using var direct = new CausalKvClient(directOptions, directFailures);
        using var viaRouter = new CausalKvClient(routerOptions, routerFailures);
        using var raw = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(1) });
        var view = await direct.RefreshViewAsync() ?? throw new InvalidOperationException("The router has no view.");
        var ring = view.CreateRing();
        var owners = view.ShardNames.ToDictionary(s => s, s => view.NodesOf(s).Select(n => $"http://{n.Address}/data/").ToArray());

        Func<CausalKvSession, string, string, Task> Operation(string target, string op) => target switch
        {
            "client direct" => ClientOp(direct, op),
            "client via router" => ClientOp(viaRouter, op),
            "plain HttpClient to owner" => RawOp(raw, ring, owners, op, plain: true),
            _ => RawOp(raw, ring, owners, op),
        };

        var pids = new List<int>();
        foreach (var name in new[] { "node0", "node1", "node2", "node3", "router" }) pids.Add(await app.ProcessIdAsync(name));
        report.Notes.Add($"The load loop runs in the bench process on the same 2 cores as the 4 nodes and the router: {Concurrency} workers, each with its own session, " +
                         $"random keys of {Keys} preloaded (100-byte values), {Duration.TotalSeconds:0} s per run after the cluster settled (up to 5 s), {Rounds} rounds with the targets' order rotated, medians. " +
                         "The raw loop hashes the key with the same ring, builds the URL of a random replica of its shard, and carries the session's metadata like the client (reads it back with JsonDocument); " +
                         "the plain loop does the same without any metadata (a PUT's body is only its value, a GET has none): the cost of the operation itself. " +
                         "Cluster CPU = CPU time of the 4 nodes and the router per request; load loop CPU = the bench process's (the client's own cost, with the loop's).");

        Console.WriteLine("Warming up...");
        foreach (var op in Ops)
            foreach (var target in Targets)
                await LoadAsync(Operation(target, op), keys, TimeSpan.FromSeconds(2), pids);

        var runs = new List<Run>();
        for (var round = 1; round <= Rounds; round++)
        {
            Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
            foreach (var op in Ops)
                foreach (var target in Rotated(Targets, round + Array.IndexOf(Ops, op)))
                {
                    await SettleAsync(pids);
                    var failuresBefore = directFailures.Count + routerFailures.Count;
                    var r = NodeTrace.Folder is null
                        ? await LoadAsync(Operation(target, op), keys, Duration, pids)
                        : await TracedLoadAsync(Operation(target, op), keys, pids, ring, $"{op}-{target.Replace(' ', '-')}-r{round}");
                    r = r with { Op = op, Target = target };
                    runs.Add(r);
                    var failed = directFailures.Count + routerFailures.Count - failuresBefore;
                    if (failed > 0) Console.WriteLine($"  ({failed} requests of the client failed at the transport: {directFailures.Last ?? routerFailures.Last})");
                    Console.WriteLine($"  {op,-4} {target,-26} {r.OpsPerSecond,8:0} ops/s  p50 {r.P50Ms:0.00} ms  p99 {r.P99Ms:0.00} ms  max {r.MaxMs:0} ms  errors {r.Errors}  cluster {r.ClusterCpuMicros:0} µs, loop {r.LoopCpuMicros:0} µs CPU/request  " +
                                      $"metadata sent {r.MetadataBytes:0} bytes on average, p99 {r.P99MetadataBytes:0}, {r.MaxMetadataBytes} at most; dependencies {r.Dependencies:0.0} on average, p99 {r.P99Dependencies:0}");
                }
        }

        if (Targets.Length < AllTargets.Length)
        {
            report.Data["runs"] = runs;
            return;
        }
        foreach (var op in Ops)
        {
            Run M(string target)
            {
                var xs = runs.Where(r => r.Op == op && r.Target == target).ToList();
                return new Run(op, target, Median(xs.Select(x => x.OpsPerSecond)), Median(xs.Select(x => x.P50Ms)), Median(xs.Select(x => x.P99Ms)),
                    xs.Sum(x => x.Errors), Median(xs.Select(x => x.ClusterCpuMicros)), Median(xs.Select(x => x.LoopCpuMicros)),
                    Median(xs.Select(x => x.MetadataBytes)), xs.Max(x => x.MaxMetadataBytes), Median(xs.Select(x => x.P99MetadataBytes)),
                    Median(xs.Select(x => x.Dependencies)), Median(xs.Select(x => x.P99Dependencies)), xs.Max(x => x.MaxMs));
            }
            double Spread(string target)
            {
                var xs = runs.Where(r => r.Op == op && r.Target == target).Select(r => r.OpsPerSecond).ToList();
                return xs.Count == 0 || xs.Min() <= 0 ? double.NaN : xs.Max() / xs.Min();
            }
            var (d, v, w, p) = (M(Targets[0]), M(Targets[1]), M(Targets[2]), M(Targets[3]));
            report.Add(new()
            {
                ["op (64 in flight)"] = op,
                ["client direct ops/s"] = Math.Round(d.OpsPerSecond),
                ["client via router ops/s"] = Math.Round(v.OpsPerSecond),
                ["raw to owner ops/s"] = Math.Round(w.OpsPerSecond),
                ["plain to owner ops/s"] = Math.Round(p.OpsPerSecond),
                ["direct/raw"] = Math.Round(d.OpsPerSecond / w.OpsPerSecond, 3),
                ["direct/via router"] = Math.Round(d.OpsPerSecond / v.OpsPerSecond, 3),
                ["spread direct / router / raw / plain"] = string.Create(CultureInfo.InvariantCulture, $"{Spread(Targets[0]):0.00}/{Spread(Targets[1]):0.00}/{Spread(Targets[2]):0.00}/{Spread(Targets[3]):0.00}"),
                ["p50/p99 ms direct / router / raw / plain"] = string.Create(CultureInfo.InvariantCulture,
                    $"{d.P50Ms:0.00}/{d.P99Ms:0.00} / {v.P50Ms:0.00}/{v.P99Ms:0.00} / {w.P50Ms:0.00}/{w.P99Ms:0.00} / {p.P50Ms:0.00}/{p.P99Ms:0.00}"),
                ["p99 direct / p99 plain"] = Math.Round(d.P99Ms / p.P99Ms, 2),
                ["slowest ms direct / router / raw / plain"] = string.Create(CultureInfo.InvariantCulture, $"{d.MaxMs:0} / {v.MaxMs:0} / {w.MaxMs:0} / {p.MaxMs:0}"),
                ["cluster CPU µs/request direct / router / raw / plain"] = string.Create(CultureInfo.InvariantCulture, $"{d.ClusterCpuMicros:0} / {v.ClusterCpuMicros:0} / {w.ClusterCpuMicros:0} / {p.ClusterCpuMicros:0}"),
                ["direct CPU / plain CPU"] = Math.Round(d.ClusterCpuMicros / p.ClusterCpuMicros, 2),
                ["load loop CPU µs/request direct / router / raw / plain"] = string.Create(CultureInfo.InvariantCulture, $"{d.LoopCpuMicros:0} / {v.LoopCpuMicros:0} / {w.LoopCpuMicros:0} / {p.LoopCpuMicros:0}"),
                ["metadata bytes sent, mean/p99 direct / router / raw"] = string.Create(CultureInfo.InvariantCulture,
                    $"{d.MetadataBytes:0}/{d.P99MetadataBytes:0} / {v.MetadataBytes:0}/{v.P99MetadataBytes:0} / {w.MetadataBytes:0}/{w.P99MetadataBytes:0}"),
                ["dependencies sent, mean/p99 direct / router"] = string.Create(CultureInfo.InvariantCulture,
                    $"{d.Dependencies:0.0}/{d.P99Dependencies:0} / {v.Dependencies:0.0}/{v.P99Dependencies:0}"),
                ["errors"] = d.Errors + v.Errors + w.Errors + p.Errors,
            });
        }
        report.AddSection("Targets (issue 13): direct routing at least 0.9 of raw-to-owner, and at least 2x via the router. " +
                          "Targets (issue 27): a client PUT's cluster CPU at most 1.3x a plain PUT's, its p99 within 2x a plain PUT's, metadata at most 256 bytes mean and 1 KiB p99, direct and via the router.");
        report.Data["runs"] = runs;
    }

    private static Func<CausalKvSession, string, string, Task> ClientOp(CausalKvClient client, string op) => op == "GET"
        ? async (session, key, _) => _ = await client.GetAsync(session, key) ?? throw new InvalidOperationException($"{key} is missing")
        : (session, key, value) => client.PutAsync(session, key, value);

    /// <summary>A hand-written client: the request to a random replica of the key's shard, the session's metadata in and out.</summary>
    private static Func<CausalKvSession, string, string, Task> RawOp(HttpClient http, HashRing ring, Dictionary<string, string[]> owners, string op, bool plain = false) =>
        async (session, key, value) =>
        {
            var replicas = owners[ring.ShardFor(key)];
            var uri = new Uri(replicas[Random.Shared.Next(replicas.Length)] + Uri.EscapeDataString(key));
            using var request = new HttpRequestMessage(op == "GET" ? HttpMethod.Get : HttpMethod.Put, uri);
            var metadata = plain ? null : session.CausalMetadata;
            if (plain && op == "PUT")
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes($"{{\"value\":\"{value}\"}}"));
                request.Content.Headers.ContentType = Json;
            }
            else if (op == "PUT" || metadata is not null)
            {
                var body = op == "PUT"
                    ? $"{{\"value\":\"{value}\",\"causal-metadata\":{metadata ?? "{}"}}}"
                    : $"{{\"causal-metadata\":{metadata}}}";
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
                request.Content.Headers.ContentType = Json;
            }
            using var response = await http.SendAsync(request);
            var bytes = await response.Content.ReadAsByteArrayAsync();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{op} {key}: {(int)response.StatusCode}");
            if (plain) return;
            using var answer = JsonDocument.Parse(bytes);
            if (answer.RootElement.TryGetProperty("causal-metadata", out var m)) session.Observe(m.GetRawText());
        };

    /// <summary>
    /// A run with node0 traced (<see cref="NodeTrace"/>, CLIENT_TRACE): beside the trace, <c>NAME.run.json</c> says how many
    /// requests the run made and what CPU node0 and the cluster spent (and of it in the kernel), and <c>NAME.metadata.jsonl</c> holds the
    /// metadata sent with every request of the first 4 sessions and with every 16th of the others, with the worker, the shard of the key it went with and the send time (unix ms; a dependency's tag is
    /// the unix ms of its write, so its age is the difference).
    /// </summary>
    private static async Task<Run> TracedLoadAsync(Func<CausalKvSession, string, string, Task> operation, string[] keys, IReadOnlyList<int> pids, HashRing ring, string name)
    {
        await using var trace = await NodeTrace.StartAsync(pids[0], name, Duration);
        var samples = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var n = 0;
        void Observe(int worker, string key, string? metadata)
        {
            // Every request of the first 4 sessions (so that a dependency can be followed from answer to answer), and every 16th of all.
            if (worker >= 4 && Interlocked.Increment(ref n) % 16 != 0) return;
            samples.Enqueue(JsonSerializer.Serialize(new { sentMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), worker, key, shard = ring.ShardFor(key), metadata }));
        }
        var node0Before = Machine.CpuTime(pids[0]).TotalMicroseconds;
        var systemBefore = pids.Sum(p => Machine.SystemCpuTime(p).TotalMicroseconds);
        var r = await LoadAsync(operation, keys, Duration, pids, Observe);
        var node0 = Machine.CpuTime(pids[0]).TotalMicroseconds - node0Before;
        var system = pids.Sum(p => Machine.SystemCpuTime(p).TotalMicroseconds) - systemBefore;
        await File.WriteAllLinesAsync(Path.Combine(NodeTrace.Folder!, name + ".metadata.jsonl"), samples);
        await File.WriteAllTextAsync(Path.Combine(NodeTrace.Folder!, name + ".run.json"), JsonSerializer.Serialize(new
        {
            requests = r.Requests, seconds = Duration.TotalSeconds, node0CpuMicros = node0, clusterCpuMicrosPerRequest = r.ClusterCpuMicros,
            clusterSystemCpuMicrosPerRequest = system / Math.Max(1, r.Requests),
            r.OpsPerSecond, r.P50Ms, r.P99Ms, r.MaxMs, r.Errors, r.MetadataBytes, r.P99MetadataBytes, r.Dependencies, r.P99Dependencies,
        }));
        return r;
    }

    private static async Task<Run> LoadAsync(Func<CausalKvSession, string, string, Task> operation, string[] keys, TimeSpan duration, IReadOnlyList<int> pids,
        Action<int, string, string?>? observe = null)
    {
        var cpuBefore = pids.Sum(p => Machine.CpuTime(p).TotalMicroseconds);
        var loopBefore = Machine.CpuTime(Environment.ProcessId).TotalMicroseconds;
        var stop = Stopwatch.StartNew();
        long errors = 0;
        var latencies = new List<double>[Concurrency];
        long metadataBytes = 0, metadataCount = 0;
        var maxMetadata = 0;
        var sizes = new List<int>[Concurrency];
        var counts = new List<int>[Concurrency];
        var workers = Enumerable.Range(0, Concurrency).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(1 << 16);
            var mySizes = sizes[w] = new List<int>(1 << 16);
            var myCounts = counts[w] = new List<int>(1 << 16);
            var session = new CausalKvSession();
            var random = new Random(w);
            while (stop.Elapsed < duration)
            {
                var key = keys[random.Next(keys.Length)];
                observe?.Invoke(w, key, session.CausalMetadata);
                var sent = session.CausalMetadata?.Length ?? 0;
                mySizes.Add(sent);
                myCounts.Add(DependencyCount(session.CausalMetadata));
                Interlocked.Add(ref metadataBytes, sent);
                Interlocked.Increment(ref metadataCount);
                if (sent > Volatile.Read(ref maxMetadata)) Interlocked.Exchange(ref maxMetadata, sent);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await operation(session, key, Cluster.Value100);
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                catch (Exception e) when (e is CausalKvException or HttpRequestException or InvalidOperationException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = stop.Elapsed.TotalSeconds;
        var cpu = pids.Sum(p => Machine.CpuTime(p).TotalMicroseconds) - cpuBefore;
        var loop = Machine.CpuTime(Environment.ProcessId).TotalMicroseconds - loopBefore;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double q) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
        static double P99(IEnumerable<int> xs)
        {
            var sorted = xs.Order().ToArray();
            return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(0.99 * sorted.Length))];
        }
        var allCounts = counts.SelectMany(c => c).ToArray();
        return new Run("", "", all.Length / elapsed, Percentile(0.5), Percentile(0.99), errors, cpu / Math.Max(1, all.Length), loop / Math.Max(1, all.Length),
            (double)metadataBytes / Math.Max(1, metadataCount), maxMetadata, P99(sizes.SelectMany(s => s)),
            allCounts.Length == 0 ? 0 : allCounts.Average(), P99(allCounts), all.Length == 0 ? 0 : all[^1], all.Length);
    }

    /// <summary>The dependencies a metadata names (each has one clock, "c"), without parsing it.</summary>
    private static int DependencyCount(string? metadata)
    {
        if (metadata is null) return 0;
        var n = 0;
        for (var i = metadata.IndexOf("\"c\":", StringComparison.Ordinal); i >= 0; i = metadata.IndexOf("\"c\":", i + 4, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>The client's transport, counting the requests that failed before an answer (connect timeouts, refusals).</summary>
    private sealed class FailureCounter(TimeSpan connectTimeout)
        : DelegatingHandler(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = connectTimeout, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) })
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public string? Last { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _count);
                Last = $"{e.GetType().Name}: {e.Message}";
                throw;
            }
        }
    }

    /// <summary>Each round starts with another target, so that none always runs first after the other op (whose trailing replication and GC land on whatever runs next).</summary>
    private static IEnumerable<string> Rotated(string[] targets, int by) => targets.Skip(by % targets.Length).Concat(targets.Take(by % targets.Length));

    /// <summary>Waits (up to 5 s) until the cluster is about idle: what the previous run left (replication, gossip, GC) is not billed to the next.</summary>
    private static async Task SettleAsync(IReadOnlyList<int> pids)
    {
        var deadline = Stopwatch.StartNew();
        var before = pids.Sum(p => Machine.CpuTime(p).TotalMilliseconds);
        while (deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(250);
            var now = pids.Sum(p => Machine.CpuTime(p).TotalMilliseconds);
            if (now - before <= 25) return; // at most a tenth of a core over the last 250 ms
            before = now;
        }
    }
}
