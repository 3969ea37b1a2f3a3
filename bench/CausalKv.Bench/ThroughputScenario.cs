using System.Globalization;
using System.Text;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>One target at one load point: the median over the rounds, and the spread of throughput (max/min) among them.</summary>
internal sealed record ThroughputPoint(string Op, int Connections, string Target, WrkResult Result, double Spread, IReadOnlyList<WrkResult> Rounds);

/// <summary>
/// ops/s and p50/p99 for GET, PUT and a 90/10 mix at 1, 16 and 64 connections,
/// against the bare ASP.NET endpoint, one node of a two-replica shard, and the
/// router in front of that pair, all in one run and interleaved (bare, node,
/// router at each load point) so the ratios compare figures taken side by side.
/// </summary>
internal static class ThroughputScenario
{
    public const int Keys = 10_000;
    /// <summary>The load points; THROUGHPUT_CONNECTIONS (e.g. "64") narrows them, for a short before/after run.</summary>
    public static readonly int[] Connections = (Environment.GetEnvironmentVariable("THROUGHPUT_CONNECTIONS") ?? "1,16,64")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
    public static readonly string[] Targets = ["bare", "node", "router"];
    public static readonly (string Op, string Script)[] Ops = [("GET", "get.lua"), ("PUT", "put.lua"), ("90/10", "mixed.lua")];

    public static async Task RunAsync(Report report)
    {
        var wrkVersion = await Wrk.EnsureInstalledAsync();
        report.Notes.Add($"Load generator: wrk from Debian ({wrkVersion}), shared/bench/wrk scripts, -t1 at 1 connection and -t2 otherwise, " +
                         $"-d{Duration.TotalSeconds:0}s --latency, KEYS={Keys} preloaded by HTTP (100-byte values); wrk runs on the same cores as the servers. " +
                         $"{Rounds} rounds, each a full interleaved pass; figures are per-point medians, spread = max/min throughput over the rounds.");
        var scripts = BenchPaths.CopyToTemp(Path.Combine(BenchPaths.SharedBench, "wrk"), "causalkv-wrk-");
        try
        {
            Console.WriteLine("Building and starting the bare endpoint...");
            await using var bare = await BareEndpoint.StartAsync();
            Console.WriteLine("Starting 2 nodes in 1 shard and the router...");
            await using var app = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1));
            var endpoints = new Dictionary<string, Uri>
            {
                ["bare"] = bare.Endpoint,
                ["node"] = app.Endpoint("node0"),
                ["router"] = app.Endpoint("router"),
            };

            var keys = Enumerable.Range(0, Keys).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)).ToList();
            using (var bareClient = new HttpClient { BaseAddress = bare.Endpoint })
                await Cluster.LoadAsync(bareClient, keys);
            using var n0 = app.CreateHttpClient("node0");
            using var n1 = app.CreateHttpClient("node1");
            await Cluster.LoadAsync(n0, keys);
            await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(60)); // the router reads from either replica

            Console.WriteLine("Warming up (JIT, connection pools)...");
            foreach (var target in Targets)
                foreach (var (_, script) in Ops)
                    await Wrk.RunAsync(scripts, script, endpoints[target], 16, TimeSpan.FromSeconds(2), Keys);

            // CPU time of every server process over each run, per request: where a request's cost goes.
            var servers = new Dictionary<string, int>
            {
                ["bare"] = bare.Pid,
                ["node0"] = await app.ProcessIdAsync("node0"),
                ["node1"] = await app.ProcessIdAsync("node1"),
                ["router"] = await app.ProcessIdAsync("router"),
            };
            var cpu = new List<(string Op, int C, string Target, Dictionary<string, double> MicrosPerRequest)>();
            var runs = new List<(string Op, int C, string Target, WrkResult R)>();
            for (var round = 1; round <= Rounds; round++)
            {
                Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
                foreach (var (op, script) in Ops)
                    foreach (var c in Connections)
                        foreach (var target in Targets)
                        {
                            var before = servers.ToDictionary(kv => kv.Key, kv => Machine.CpuTime(kv.Value));
                            var r = await Wrk.RunAsync(scripts, script, endpoints[target], c, Duration, Keys);
                            runs.Add((op, c, target, r));
                            cpu.Add((op, c, target, servers.ToDictionary(kv => kv.Key,
                                kv => (Machine.CpuTime(kv.Value) - before[kv.Key]).TotalMicroseconds / Math.Max(1, r.Requests))));
                            Console.WriteLine($"  {op,-5} c{c,-3} {target,-6} {r.RequestsPerSecond,9:0} ops/s  p50 {r.P50Ms:0.###} ms  p99 {r.P99Ms:0.###} ms  errors {r.Non2xx + r.SocketErrors}");
                        }
            }
            var points = runs.GroupBy(x => (x.Op, x.C, x.Target)).Select(g => Aggregate(g.Key.Op, g.Key.C, g.Key.Target, g.Select(x => x.R).ToList())).ToList();

            foreach (var (op, _) in Ops)
                foreach (var c in Connections)
                    report.Add(Row(points, op, c));
            report.AddSection(TargetsSection(points));
            report.AddSection(CpuSection(cpu));
            report.Data["measurements"] = points.Select(p => new
            {
                op = p.Op, connections = p.Connections, target = p.Target, opsPerSecond = p.Result.RequestsPerSecond,
                p50Ms = p.Result.P50Ms, p99Ms = p.Result.P99Ms, requests = p.Result.Requests, non2xx = p.Result.Non2xx, socketErrors = p.Result.SocketErrors,
                spread = p.Spread, rounds = p.Rounds,
            }).ToList();
            var png = Path.Combine(BenchPaths.Results, "throughput.png");
            ThroughputPlot.Save(points, png, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores shared with wrk, load average {Machine.LoadAverage()}");
            report.AddSection("![throughput vs connections](throughput.png)");
            Console.WriteLine($"Plot: {png}");
        }
        finally
        {
            BenchPaths.DeleteTemp(scripts);
        }
    }

    private static ThroughputPoint Aggregate(string op, int c, string target, List<WrkResult> rounds)
    {
        var median = new WrkResult(
            Median(rounds.Select(r => r.RequestsPerSecond)), Median(rounds.Select(r => r.P50Ms)), Median(rounds.Select(r => r.P99Ms)),
            rounds.Sum(r => r.Requests), rounds.Sum(r => r.Non2xx), rounds.Sum(r => r.SocketErrors));
        var spread = rounds.Max(r => r.RequestsPerSecond) / Math.Max(1, rounds.Min(r => r.RequestsPerSecond));
        return new ThroughputPoint(op, c, target, median, spread, rounds);
    }

    private static WrkResult Get(IEnumerable<ThroughputPoint> points, string op, int c, string target) =>
        points.Single(p => p.Op == op && p.Connections == c && p.Target == target).Result;

    private static double Get(IEnumerable<ThroughputPoint> points, string op, int c, string target, Func<ThroughputPoint, double> pick) =>
        pick(points.Single(p => p.Op == op && p.Connections == c && p.Target == target));

    private static Dictionary<string, object?> Row(List<ThroughputPoint> points, string op, int c)
    {
        var (b, n, r) = (Get(points, op, c, "bare"), Get(points, op, c, "node"), Get(points, op, c, "router"));
        return new()
        {
            ["op"] = op,
            ["conns"] = c,
            ["bare ops/s"] = b.RequestsPerSecond,
            ["node ops/s"] = n.RequestsPerSecond,
            ["router ops/s"] = r.RequestsPerSecond,
            ["node/bare"] = Ratio(n.RequestsPerSecond, b.RequestsPerSecond),
            ["router/node"] = Ratio(r.RequestsPerSecond, n.RequestsPerSecond),
            ["bare p50/p99 ms"] = Latency(b),
            ["node p50/p99 ms"] = Latency(n),
            ["router p50/p99 ms"] = Latency(r),
            ["node p99 / bare p99"] = Ratio(n.P99Ms, b.P99Ms),
            ["router p99 / bare p99"] = Ratio(r.P99Ms, b.P99Ms),
            ["spread b/n/r"] = string.Create(CultureInfo.InvariantCulture,
                $"{Get(points, op, c, "bare", p => p.Spread):0.00}/{Get(points, op, c, "node", p => p.Spread):0.00}/{Get(points, op, c, "router", p => p.Spread):0.00}"),
            ["errors b/n/r"] = $"{b.Non2xx + b.SocketErrors}/{n.Non2xx + n.SocketErrors}/{r.Non2xx + r.SocketErrors}",
        };
    }

    private static double Ratio(double a, double b) => b == 0 ? double.NaN : Math.Round(a / b, 2);

    private static string Latency(WrkResult r) =>
        string.Create(CultureInfo.InvariantCulture, $"{r.P50Ms:0.00} / {r.P99Ms:0.00}");

    private static string Percent(double ratio) => ratio.ToString("0.0%", CultureInfo.InvariantCulture);

    /// <summary>
    /// CPU microseconds each server process spent per request at 64 connections (medians over the rounds). With every
    /// process on the same cores, throughput is about cores / (CPU per request of all processes, wrk included): a
    /// target stated as a ratio is met only when the cost it adds is small enough, and this table says what it adds.
    /// </summary>
    private static string CpuSection(List<(string Op, int C, string Target, Dictionary<string, double> MicrosPerRequest)> cpu)
    {
        var md = new StringBuilder("#### CPU per request (64 connections)\n\n");
        md.AppendLine("CPU time (user + system, from /proc) each server process spent during a run, divided by the requests wrk completed; medians over the rounds. wrk's own share is not counted.");
        md.AppendLine().AppendLine("| op | target | bare µs | node0 µs | node1 µs | router µs | servers in all µs |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (op, _) in Ops)
            foreach (var target in Targets)
            {
                var rows = cpu.Where(x => x.Op == op && x.C == 64 && x.Target == target).Select(x => x.MicrosPerRequest).ToList();
                if (rows.Count == 0) continue;
                string Cell(string process) => Median(rows.Select(r => r[process])).ToString("0.0", CultureInfo.InvariantCulture);
                var total = Median(rows.Select(r => r.Values.Sum())).ToString("0.0", CultureInfo.InvariantCulture);
                md.AppendLine($"| {op} | {target} | {Cell("bare")} | {Cell("node0")} | {Cell("node1")} | {Cell("router")} | {total} |");
            }
        return md.ToString();
    }

    /// <summary>Where each target of issue 7 stands, from this run's figures.</summary>
    private static string TargetsSection(List<ThroughputPoint> points)
    {
        string Verdict(bool met) => met ? "**met**" : "**not met**";
        var md = new StringBuilder("#### Targets (issue 7)\n\n| target | measured | |\n|---|---|---|\n");
        var get = Get(points, "GET", 64, "node").RequestsPerSecond / Get(points, "GET", 64, "bare").RequestsPerSecond;
        md.AppendLine($"| GET at one node, 64 conns >= 70% of bare | {Percent(get)} | {Verdict(get >= 0.70)} |");
        var put = Get(points, "PUT", 64, "node").RequestsPerSecond / Get(points, "PUT", 64, "bare").RequestsPerSecond;
        md.AppendLine($"| PUT into a shard of 2 replicas, 64 conns >= 50% of bare | {Percent(put)} | {Verdict(put >= 0.50)} |");
        foreach (var (op, _) in Ops)
        {
            var router = Get(points, op, 64, "router").RequestsPerSecond / Get(points, op, 64, "node").RequestsPerSecond;
            md.AppendLine($"| router >= 55% of direct, {op}, 64 conns | {Percent(router)} | {Verdict(router >= 0.55)} |");
        }
        foreach (var target in new[] { "node", "router" })
        {
            var ratios = Ops.SelectMany(o => Connections.Select(c => (o.Op, c, x: Get(points, o.Op, c, target).P99Ms / Get(points, o.Op, c, "bare").P99Ms))).ToList();
            var over = ratios.Where(r => r.x > 2).Select(r => $"{r.Op} c{r.c} {r.x:0.0}x").ToList();
            var worst = ratios.MaxBy(r => r.x);
            md.AppendLine($"| {target} p99 <= 2x bare at the same load | worst {worst.x:0.0}x ({worst.Op} c{worst.c}); over 2x at {over.Count} of {ratios.Count} points{(over.Count > 0 ? ": " + string.Join(", ", over) : "")} | {Verdict(over.Count == 0)} |");
        }
        return md.ToString();
    }
}
