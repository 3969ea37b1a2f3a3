using System.Globalization;
using System.Text;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// Where the nodes' extra CPU per request goes when requests come through the router. The router spreads a shard's
/// load over both replicas and sends its trace context with every request; wrk straight to node0 does neither. So the
/// same wrk load (64 connections) runs, interleaved, against: node0 alone; node0 and node1 together (two wrk, 32
/// connections each: the router's spread without the router); that split with an unsampled W3C traceparent on every
/// request (what the router sent while its own telemetry was off); the split with 4 + 4 connections (a lighter load,
/// nearer the router's throughput: less batching per request at the nodes); and the router. The nodes' CPU while idle (gossip, probes, status polls) is
/// measured too, and counted off per request, so that a run with fewer requests per second is not charged for it.
/// </summary>
internal static class RouterCostScenario
{
    private const int Keys = 10_000;
    private const int Connections = 64;
    private static readonly (string Op, string Script)[] Ops = [("GET", "get.lua"), ("PUT", "put.lua")];
    private static readonly string[] Targets = ["node0", "split", "split+trace", "split c8", "router"];
    private const string TraceParent = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

    public static async Task RunAsync(Report report)
    {
        var wrkVersion = await Wrk.EnsureInstalledAsync();
        report.Notes.Add($"Load generator: wrk ({wrkVersion}), -d{Duration.TotalSeconds:0}s, KEYS={Keys} preloaded (100-byte values), {Rounds} interleaved rounds; medians. " +
                         "CPU: user + system time of each process from /proc over the run. 'net of idle' subtracts the nodes' idle CPU rate times the run's length before dividing by the requests.");
        var scripts = BenchPaths.CopyToTemp(Path.Combine(BenchPaths.SharedBench, "wrk"), "causalkv-wrk-");
        try
        {
            Console.WriteLine("Starting 2 nodes in 1 shard and the router...");
            await using var app = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1));
            var keys = Enumerable.Range(0, Keys).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)).ToList();
            using var n0 = app.CreateHttpClient("node0");
            using var n1 = app.CreateHttpClient("node1");
            await Cluster.LoadAsync(n0, keys);
            await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(60));
            var nodes = new Dictionary<string, int>
            {
                ["node0"] = await app.ProcessIdAsync("node0"),
                ["node1"] = await app.ProcessIdAsync("node1"),
            };
            var router = await app.ProcessIdAsync("router");
            var (node0Url, node1Url, routerUrl) = (app.Endpoint("node0"), app.Endpoint("node1"), app.Endpoint("router"));

            Console.WriteLine("Warming up...");
            foreach (var (_, script) in Ops)
            {
                await Wrk.RunAsync(scripts, script, node0Url, 16, TimeSpan.FromSeconds(2), Keys);
                await Wrk.RunAsync(scripts, script, node1Url, 16, TimeSpan.FromSeconds(2), Keys);
                await Wrk.RunAsync(scripts, script, routerUrl, 16, TimeSpan.FromSeconds(2), Keys);
            }

            // The nodes' own background work, per second, with no requests.
            var idleBefore = nodes.Values.Sum(p => Machine.CpuTime(p).TotalMicroseconds);
            var idleClock = System.Diagnostics.Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var idleMicrosPerSecond = (nodes.Values.Sum(p => Machine.CpuTime(p).TotalMicroseconds) - idleBefore) / idleClock.Elapsed.TotalSeconds;
            Console.WriteLine($"Idle: the two nodes spend {idleMicrosPerSecond / 1000:0.0} ms of CPU per second");

            var runs = new List<(string Op, string Target, double OpsPerSecond, double NodeMicros, double NetMicros, double RouterMicros, double Node0Share)>();
            for (var round = 1; round <= Rounds; round++)
            {
                Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
                foreach (var (op, script) in Ops)
                    foreach (var target in Targets)
                    {
                        var before = nodes.ToDictionary(kv => kv.Key, kv => Machine.CpuTime(kv.Value).TotalMicroseconds);
                        var routerBefore = Machine.CpuTime(router).TotalMicroseconds;
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        var results = target switch
                        {
                            "node0" => [await Wrk.RunAsync(scripts, script, node0Url, Connections, Duration, Keys)],
                            "router" => [await Wrk.RunAsync(scripts, script, routerUrl, Connections, Duration, Keys)],
                            "split c8" => await Task.WhenAll(
                                Wrk.RunAsync(scripts, script, node0Url, 4, Duration, Keys),
                                Wrk.RunAsync(scripts, script, node1Url, 4, Duration, Keys)),
                            _ => await Task.WhenAll(
                                Wrk.RunAsync(scripts, script, node0Url, Connections / 2, Duration, Keys, headers: target == "split+trace" ? [TraceParent] : null),
                                Wrk.RunAsync(scripts, script, node1Url, Connections / 2, Duration, Keys, headers: target == "split+trace" ? [TraceParent] : null)),
                        };
                        var seconds = clock.Elapsed.TotalSeconds;
                        var requests = Math.Max(1, results.Sum(r => r.Requests));
                        var spent = nodes.ToDictionary(kv => kv.Key, kv => Machine.CpuTime(kv.Value).TotalMicroseconds - before[kv.Key]);
                        var total = spent.Values.Sum();
                        var errors = results.Sum(r => r.Non2xx + r.SocketErrors);
                        runs.Add((op, target, requests / seconds, total / requests, (total - idleMicrosPerSecond * seconds) / requests,
                            (Machine.CpuTime(router).TotalMicroseconds - routerBefore) / requests, spent["node0"] / Math.Max(1, total)));
                        Console.WriteLine($"  {op,-4} {target,-12} {requests / seconds,9:0} ops/s  nodes {total / requests,6:0.0} µs/request ({(total - idleMicrosPerSecond * seconds) / requests:0.0} net of idle)  errors {errors}");
                    }
            }

            var md = new StringBuilder($"Idle, the two nodes spent {idleMicrosPerSecond / 1000:0.0} ms of CPU per second.\n\n");
            md.AppendLine("| op | target | ops/s | nodes µs/request | nodes µs/request net of idle | router µs/request | node0's share of the nodes' CPU | nodes net / node0 alone |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var (op, _) in Ops)
            {
                var alone = Median(runs.Where(r => r.Op == op && r.Target == "node0").Select(r => r.NetMicros));
                foreach (var target in Targets)
                {
                    var rows = runs.Where(r => r.Op == op && r.Target == target).ToList();
                    var net = Median(rows.Select(r => r.NetMicros));
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {op} | {target} | {Median(rows.Select(r => r.OpsPerSecond)):0} | {Median(rows.Select(r => r.NodeMicros)):0.0} | {net:0.0} | " +
                        $"{(target == "router" ? Median(rows.Select(r => r.RouterMicros)).ToString("0.0", CultureInfo.InvariantCulture) : "-")} | {Median(rows.Select(r => r.Node0Share)):P0} | {net / alone:0.00} |");
                    report.Add(new Dictionary<string, object?>
                    {
                        ["op"] = op, ["target"] = target, ["ops/s"] = Math.Round(Median(rows.Select(r => r.OpsPerSecond))),
                        ["nodes µs/request"] = Math.Round(Median(rows.Select(r => r.NodeMicros)), 1), ["net of idle"] = Math.Round(net, 1),
                    });
                }
            }
            report.AddSection(md.ToString());
        }
        finally
        {
            BenchPaths.DeleteTemp(scripts);
        }
    }
}
