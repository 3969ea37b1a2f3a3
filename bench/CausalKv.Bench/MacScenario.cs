using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// What the metadata MAC costs: two pairs (one shard of two replicas each), one signing and checking metadata
/// (the default) and one with <c>CausalKv:SignMetadata=false</c>, measured interleaved at 64 connections on node 0 of
/// each. GET and PUT carry a session's metadata (one dependency, checked on every request); the plain PUT carries
/// none, so only its answer is signed.
/// </summary>
internal static class MacScenario
{
    private const int Keys = 10_000;
    private const int Connections = 64;
    private static readonly (string Op, string Script)[] Ops = [("GET + metadata", "get-meta.lua"), ("PUT + metadata", "put-meta.lua"), ("PUT", "put.lua")];
    private static readonly string[] Targets = ["signed", "unsigned"];



    public static async Task RunAsync(Report report)
    {
        var wrkVersion = await Wrk.EnsureInstalledAsync();
        var scripts = BenchPaths.CopyToTemp(Path.Combine(BenchPaths.SharedBench, "wrk"), "causalkv-wrk-");
        foreach (var own in Directory.GetFiles(Path.Combine(BenchPaths.Repository, "bench", "wrk"), "*.lua"))
            File.Copy(own, Path.Combine(scripts, Path.GetFileName(own)), overwrite: true);
        try
        {
            Console.WriteLine("Starting two pairs: signed and unsigned metadata...");
            await using var signed = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1).WithoutRouter());
            await using var unsigned = await Cluster.StartAsync(() =>
                KvApp.Create(nodes: 2, shards: 1).WithoutRouter().WithNodeSetting("SignMetadata", "false"));
            var targets = new Dictionary<string, (Uri Endpoint, string Metadata)>
            {
                ["signed"] = (signed.Endpoint("node0"), await PrepareAsync(signed)),
                ["unsigned"] = (unsigned.Endpoint("node0"), await PrepareAsync(unsigned)),
            };
            report.Notes.Add($"Load generator: wrk ({wrkVersion}), -t2 -c{Connections} -d{Duration.TotalSeconds:0}s, KEYS={Keys} preloaded (100-byte values). " +
                             $"The session's metadata: signed {targets["signed"].Metadata.Length} bytes, unsigned {targets["unsigned"].Metadata.Length} bytes. " +
                             $"{Rounds} interleaved rounds; medians.");

            Console.WriteLine("Warming up...");
            foreach (var (_, script) in Ops)
                foreach (var t in Targets)
                    await Wrk.RunAsync(scripts, script, targets[t].Endpoint, 16, TimeSpan.FromSeconds(2), Keys, Env(targets[t].Metadata));

            // CPU time node 0 spent per request: steadier than throughput on a machine shared with other work.
            var pids = new Dictionary<string, int>
            {
                ["signed"] = await signed.ProcessIdAsync("node0"),
                ["unsigned"] = await unsigned.ProcessIdAsync("node0"),
            };
            var runs = new List<(string Op, string Target, WrkResult R, double CpuMicros)>();
            for (var round = 1; round <= Rounds; round++)
            {
                Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
                foreach (var (op, script) in Ops)
                    foreach (var t in round % 2 == 1 ? Targets : Targets.Reverse())
                    {
                        var before = Machine.CpuTime(pids[t]);
                        var r = await Wrk.RunAsync(scripts, script, targets[t].Endpoint, Connections, Duration, Keys, Env(targets[t].Metadata));
                        var cpu = (Machine.CpuTime(pids[t]) - before).TotalMicroseconds / Math.Max(1, r.Requests);
                        runs.Add((op, t, r, cpu));
                        Console.WriteLine($"  {op,-15} {t,-8} {r.RequestsPerSecond,9:0} ops/s  p50 {r.P50Ms:0.###} ms  p99 {r.P99Ms:0.###} ms  errors {r.Non2xx + r.SocketErrors}  node0 {cpu:0.0} µs CPU/request");
                    }
            }
            foreach (var (op, _) in Ops)
            {
                var s = Median(runs.Where(x => x.Op == op && x.Target == "signed").Select(x => x.R).ToList());
                var u = Median(runs.Where(x => x.Op == op && x.Target == "unsigned").Select(x => x.R).ToList());
                var sCpu = BenchSettings.Median(runs.Where(x => x.Op == op && x.Target == "signed").Select(x => x.CpuMicros));
                var uCpu = BenchSettings.Median(runs.Where(x => x.Op == op && x.Target == "unsigned").Select(x => x.CpuMicros));
                report.Add(new()
                {
                    ["op (64 conns, node 0)"] = op,
                    ["signed ops/s"] = Math.Round(s.RequestsPerSecond),
                    ["unsigned ops/s"] = Math.Round(u.RequestsPerSecond),
                    ["signed/unsigned"] = Math.Round(s.RequestsPerSecond / u.RequestsPerSecond, 3),
                    ["node0 CPU µs/request signed / unsigned"] = string.Create(CultureInfo.InvariantCulture, $"{sCpu:0.0} / {uCpu:0.0}"),
                    ["CPU signed/unsigned"] = Math.Round(sCpu / uCpu, 3),
                    ["signed p50/p99 ms"] = string.Create(CultureInfo.InvariantCulture, $"{s.P50Ms:0.00} / {s.P99Ms:0.00}"),
                    ["unsigned p50/p99 ms"] = string.Create(CultureInfo.InvariantCulture, $"{u.P50Ms:0.00} / {u.P99Ms:0.00}"),
                    ["errors s/u"] = $"{runs.Where(x => x.Op == op && x.Target == "signed").Sum(x => x.R.Non2xx + x.R.SocketErrors)}/" +
                                     $"{runs.Where(x => x.Op == op && x.Target == "unsigned").Sum(x => x.R.Non2xx + x.R.SocketErrors)}",
                });
            }
        }
        finally
        {
            BenchPaths.DeleteTemp(scripts);
        }
    }

    private static Dictionary<string, string> Env(string metadata) => new() { ["METADATA"] = metadata };


    private static WrkResult Median(List<WrkResult> rounds)
    {
        static double M(IEnumerable<double> xs)
        {
            var sorted = xs.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        return new WrkResult(M(rounds.Select(r => r.RequestsPerSecond)), M(rounds.Select(r => r.P50Ms)), M(rounds.Select(r => r.P99Ms)),
            rounds.Sum(r => r.Requests), rounds.Sum(r => r.Non2xx), rounds.Sum(r => r.SocketErrors));
    }

    /// <summary>
    /// Loads the keys, then gets a session's metadata that is not pruned away: a write accepted while the replicas
    /// are cut off, so the answer still carries its dependency. After the heal every replica holds that write, so a
    /// request carrying the metadata never waits; it is only checked.
    /// </summary>
    private static async Task<string> PrepareAsync(KvApp app)
    {
        using var n0 = app.CreateHttpClient("node0");
        using var n1 = app.CreateHttpClient("node1");
        await Cluster.LoadAsync(n0, Enumerable.Range(0, Keys).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)));
        await app.CutAsync(0, 1);
        using var response = await n0.PutAsync("/data/session-key",
            new StringContent("{\"value\":\"v\",\"causal-metadata\":{}}", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        var metadata = (await response.Content.ReadFromJsonAsync<JsonObject>())!["causal-metadata"]!.ToJsonString();
        await app.HealAsync(0, 1);
        await Cluster.WaitEqualAsync([n0, n1], TimeSpan.FromSeconds(60));
        if (metadata == "{}") throw new InvalidOperationException("The write made while cut off came back with no dependency to carry.");
        return metadata;
    }
}
