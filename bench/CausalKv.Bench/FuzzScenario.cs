using System.Diagnostics;
using System.Globalization;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// The long run of the HTTP surface fuzzer the suite runs briefly (<see cref="HttpSurfaceFuzzer"/>): FUZZ_REQUESTS
/// (default 20,000) random and mutated requests to every node and the router of two shards of two replicas, from
/// FUZZ_SEED (default: random), then the sentinels and every acknowledged write checked.
/// </summary>
internal static class FuzzScenario
{
    public static async Task RunAsync(Report report)
    {
        var requests = Setting("FUZZ_REQUESTS", 20_000);
        var seed = Setting("FUZZ_SEED", Random.Shared.Next(1, int.MaxValue));
        Console.WriteLine($"Starting two shards of two replicas and the router; fuzzing with seed {seed}...");
        await using var app = await Cluster.StartAsync(() => KvApp.Create(nodes: 4, shards: 2));
        var targets = app.Nodes.Select(n => (n.Name, app.Endpoint(n.Name))).Append(("router", app.Endpoint("router"))).ToList();
        var fuzzer = new HttpSurfaceFuzzer(seed, targets, "fuzz-");
        var clock = Stopwatch.StartNew();
        await fuzzer.RunAsync(requests);
        report.Add(new()
        {
            ["seed"] = seed,
            ["requests"] = fuzzer.Requests,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            ["acknowledged writes read back"] = fuzzer.Acknowledged,
            ["statuses"] = string.Join(", ", fuzzer.Statuses.OrderBy(kv => kv.Key).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}: {kv.Value}"))),
            ["findings"] = fuzzer.Findings.Count,
        });
        foreach (var finding in fuzzer.Findings) report.Notes.Add("Finding: " + finding);
        report.Data["findings"] = fuzzer.Findings;
    }
}
