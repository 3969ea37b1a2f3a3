using System.Diagnostics;
using CausalKv.Tests.Distributed;

namespace CausalKv.Bench;

/// <summary>
/// What a shard's other replica being down costs the live one: node 0 of a pair written to with node 1 up, and again
/// (a fresh pair) with node 1 killed. For each load: node 0's RSS before and after it (2 s after, so what a burst
/// leaves behind shows), and node 0's CPU per write (user + system from /proc, over the load). 16 writers at once,
/// except one load written by a single writer: each of its writes wakes the push loop on its own.
/// </summary>
internal static class DeadPeerScenario
{
    private sealed record Load(string Name, int Count, Func<int, string> Key, string Value, int Writers = 16);

    private static readonly string Value16K = new('x', 16 * 1024);

    private static readonly Load[] Loads =
    [
        new("20,000 writes of 100 B", 20_000, i => $"small{i}", Cluster.Value100),
        new("20,000 writes of 16 KiB", 20_000, i => $"large{i}", Value16K),
        new("5,000 writes of 16 KiB, one writer", 5_000, i => $"one{i}", Value16K, Writers: 1),
        new("60,000 rewrites of one key (100 B)", 60_000, _ => "hot", Cluster.Value100),
    ];

    public static async Task RunAsync(Report report)
    {
        var label = Environment.GetEnvironmentVariable("BENCH_LABEL") ?? "this build";
        var perWrite = new Dictionary<(string Load, bool Down), double>();
        foreach (var down in new[] { false, true })
        {
            await using var app = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1).WithoutRouter());
            using var n0 = app.CreateHttpClient("node0");
            var pid = await app.ProcessIdAsync("node0");
            if (down)
            {
                await app.KillResourceAsync("node1");
                await Task.Delay(2000); // node 0's pushes and gossip find the peer gone
            }
            foreach (var load in Loads)
            {
                // The rewrites only matter with the peer down (the case); with it up they add nothing to compare.
                if (!down && load.Count == 60_000) continue;
                await Task.Delay(2000);
                var rssBefore = Cluster.RssBytes(pid);
                var cpuBefore = Machine.CpuTime(pid);
                var wall = Stopwatch.StartNew();
                await Cluster.LoadAsync(n0, Enumerable.Range(0, load.Count).Select(load.Key), concurrency: load.Writers, value: load.Value);
                wall.Stop();
                var cpu = Machine.CpuTime(pid) - cpuBefore;
                await Task.Delay(2000);
                var rssAfter = Cluster.RssBytes(pid);
                var micros = cpu.TotalMicroseconds / load.Count;
                perWrite[(load.Name, down)] = micros;
                report.Add(new()
                {
                    ["build"] = label,
                    ["peer"] = down ? "down (killed)" : "up",
                    ["load"] = load.Name,
                    ["node0 RSS before (MiB)"] = rssBefore / 1048576.0,
                    ["node0 RSS after (MiB)"] = rssAfter / 1048576.0,
                    ["RSS growth (MiB)"] = (rssAfter - rssBefore) / 1048576.0,
                    ["node0 CPU per write (µs)"] = micros,
                    ["writes/s"] = load.Count / wall.Elapsed.TotalSeconds,
                });
            }
        }
        var ratios = Loads.Where(l => perWrite.ContainsKey((l.Name, false)))
            .Select(l => $"| {l.Name} | {perWrite[(l.Name, true)] / perWrite[(l.Name, false)]:0.00} |");
        report.AddSection($"""
            CPU per write with the peer down / with it up ({label}; target <= 1.3):

            | load | down / up |
            |---|---|
            {string.Join(Environment.NewLine, ratios)}
            """);
    }
}
