using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// What hostile clients without the cluster key cost a legitimate one: a session on node 0 of a pair (a PUT and a GET
/// of small values, one after the other, carrying its metadata) measured alone and while 4 loops send, as fast as the
/// node answers, one kind of hostile request each: forged metadata of 60,000 dependencies (2.6 MB), forged metadata
/// of 10,000 (within the limit, so its MAC is checked), and <c>GET /admin/digest</c> over a store of 150 MiB of
/// values. Phases interleave over the rounds; the table shows medians. Node 0's CPU per hostile request is its CPU
/// time over the phase, less what the legitimate requests cost alone, over the hostile requests answered.
/// </summary>
internal static class HostileScenario
{
    private const int HostileLoops = 4;
    private const int SmallKeys = 1000;
    private const int LargeValues = 150;
    private const int LargeValueBytes = 1_048_000;

    private sealed record Attack(string Name, Func<HttpRequestMessage>? Request);

    public static async Task RunAsync(Report report)
    {
        Console.WriteLine("Starting a pair (one shard of two replicas)...");
        await using var app = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1).WithoutRouter());
        var endpoint = app.Endpoint("node0");
        using var loader = app.CreateHttpClient("node0");
        Console.WriteLine($"Loading {SmallKeys} small keys and {LargeValues} values of {LargeValueBytes / 1000} kB...");
        await Cluster.LoadAsync(loader, Enumerable.Range(0, SmallKeys).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)));
        await Cluster.LoadAsync(loader, Enumerable.Range(0, LargeValues).Select(i => "big" + i.ToString(CultureInfo.InvariantCulture)),
            concurrency: 4, value: new string('v', LargeValueBytes));
        var clusterId = await ClusterIdAsync(loader);
        var forged60k = ForgedMetadataBody(clusterId, 60_000);
        var forged10k = ForgedMetadataBody(clusterId, 10_000);
        report.Notes.Add($"Forged bodies: {forged60k.Length / 1e6:0.0} MB and {forged10k.Length / 1e6:0.00} MB.");
        var attacks = new[]
        {
            new Attack("alone", null),
            new Attack("forged metadata, 60,000 deps", () => Get("/data/k1", forged60k)),
            new Attack("forged metadata, 10,000 deps", () => Get("/data/k1", forged10k)),
            new Attack("GET /admin/digest, 150 MiB", () => new HttpRequestMessage(HttpMethod.Get, "/admin/digest")),
        };
        var pid = await app.ProcessIdAsync("node0");
        var runs = new List<(string Attack, Phase Phase)>();
        for (var round = 1; round <= Rounds; round++)
        {
            Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
            foreach (var attack in round % 2 == 1 ? attacks : attacks.Reverse())
            {
                var phase = await RunPhaseAsync(endpoint, pid, attack);
                runs.Add((attack.Name, phase));
                Console.WriteLine($"  {attack.Name,-32} legit p50 {phase.P50:0.0} p95 {phase.P95:0.0} p99 {phase.P99:0.0} ms, {phase.LegitOps} ops; " +
                                  $"hostile {phase.HostileRequests} ({phase.HostileStatuses}); node0 {phase.CpuSeconds:0.00} CPU-s, RSS {phase.RssMiB:0} MiB");
            }
        }
        var aloneCpuPerOp = Median(runs.Where(r => r.Attack == "alone").Select(r => r.Phase.CpuSeconds / Math.Max(1, r.Phase.LegitOps)));
        var aloneP95 = Median(runs.Where(r => r.Attack == "alone").Select(r => r.Phase.P95));
        foreach (var attack in attacks)
        {
            var phases = runs.Where(r => r.Attack == attack.Name).Select(r => r.Phase).ToList();
            var p95 = Median(phases.Select(p => p.P95));
            var hostileCpu = Median(phases.Select(p => (p.CpuSeconds - p.LegitOps * aloneCpuPerOp) / Math.Max(1, p.HostileRequests) * 1000));
            report.Add(new()
            {
                ["while"] = attack.Name,
                ["legit p50 ms"] = Median(phases.Select(p => p.P50)),
                ["legit p95 ms"] = p95,
                ["legit p99 ms"] = Median(phases.Select(p => p.P99)),
                ["p95 / alone"] = Math.Round(p95 / aloneP95, 2),
                ["legit ops/s"] = Math.Round(Median(phases.Select(p => p.LegitOps / Duration.TotalSeconds))),
                ["hostile req/s"] = attack.Request is null ? null : Math.Round(Median(phases.Select(p => p.HostileRequests / Duration.TotalSeconds)), 1),
                ["hostile answers"] = attack.Request is null ? null : phases[^1].HostileStatuses,
                ["node0 CPU ms per hostile request"] = attack.Request is null ? null : Math.Round(hostileCpu, 2),
                ["node0 CPU-s/s"] = Math.Round(Median(phases.Select(p => p.CpuSeconds / Duration.TotalSeconds)), 2),
                ["node0 RSS MiB (max)"] = Math.Round(phases.Max(p => p.RssMiB)),
            });
        }
        report.Data["runs"] = runs.Select(r => new { r.Attack, r.Phase }).ToList();
    }

    private sealed record Phase(double P50, double P95, double P99, int LegitOps, long HostileRequests, string HostileStatuses, double CpuSeconds, double RssMiB);

    private static async Task<Phase> RunPhaseAsync(Uri endpoint, int pid, Attack attack)
    {
        using var stop = new CancellationTokenSource();
        using var hostileHandler = new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = HostileLoops };
        using var hostile = new HttpClient(hostileHandler) { BaseAddress = endpoint, Timeout = Timeout.InfiniteTimeSpan };
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, long>();
        var cpuBefore = Machine.CpuTime(pid);
        var loops = attack.Request is null ? [] : Enumerable.Range(0, HostileLoops).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var request = attack.Request();
                    using var response = await hostile.SendAsync(request, stop.Token);
                    await response.Content.CopyToAsync(Stream.Null, stop.Token);
                    statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
                {
                    if (!stop.IsCancellationRequested) statuses.AddOrUpdate(0, 1, (_, n) => n + 1);
                }
            }
        })).ToArray();
        var latencies = await LegitimateSessionAsync(endpoint, Duration);
        var rss = Cluster.RssBytes(pid) / (1024.0 * 1024);
        var cpu = (Machine.CpuTime(pid) - cpuBefore).TotalSeconds;
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        latencies.Sort();
        double P(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        var text = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(s.Key == 0 ? "failed" : s.Key.ToString(CultureInfo.InvariantCulture))}: {s.Value}"));
        return new Phase(P(0.50), P(0.95), P(0.99), latencies.Count, statuses.Values.Sum(), text, cpu, rss);
    }

    /// <summary>One session, one request at a time: PUT then GET of a small key, its metadata passed along.</summary>
    private static async Task<List<double>> LegitimateSessionAsync(Uri endpoint, TimeSpan duration)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(60) };
        var latencies = new List<double>();
        var metadata = "{}";
        var random = new Random(7);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            var key = "k" + random.Next(SmallKeys).ToString(CultureInfo.InvariantCulture);
            var started = Stopwatch.GetTimestamp();
            using (var put = await client.PutAsync("/data/" + key, Json($"{{\"value\":\"{Cluster.Value100}\",\"causal-metadata\":{metadata}}}")))
            {
                put.EnsureSuccessStatusCode();
                metadata = (await put.Content.ReadFromJsonAsync<JsonObject>())!["causal-metadata"]!.ToJsonString();
            }
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            started = Stopwatch.GetTimestamp();
            using (var get = await client.SendAsync(Get("/data/" + key, $"{{\"causal-metadata\":{metadata}}}")))
            {
                get.EnsureSuccessStatusCode();
                metadata = (await get.Content.ReadFromJsonAsync<JsonObject>())!["causal-metadata"]!.ToJsonString();
            }
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return latencies;
    }

    private static async Task<string> ClusterIdAsync(HttpClient node)
    {
        using var response = await node.PutAsync("/data/k0", Json($"{{\"value\":\"{Cluster.Value100}\"}}"));
        var metadata = (await response.Content.ReadFromJsonAsync<JsonObject>())!["causal-metadata"]!.AsObject();
        return metadata["ckv"]?.GetValue<string>() ?? throw new InvalidOperationException("A write came back without metadata naming the cluster.");
    }

    /// <summary>A GET body with made-up metadata of <paramref name="count"/> dependencies under a made-up MAC.</summary>
    private static string ForgedMetadataBody(string clusterId, int count)
    {
        var body = new StringBuilder($"{{\"causal-metadata\":{{\"ckv\":\"{clusterId}\",\"d\":{{");
        for (var i = 0; i < count; i++)
            body.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ",")}\"f{i}\":{{\"c\":{{\"7\":{i + 1}}},\"t\":[1765000000000,1]}}");
        body.Append("},\"h\":[1765000000000,1],\"m\":\"AAAAAAAAAAAAAAAAAAAAAA\"}}");
        return body.ToString();
    }

    private static HttpRequestMessage Get(string path, string body) =>
        new(HttpMethod.Get, path) { Content = Json(body) };

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
