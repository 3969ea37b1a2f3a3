using System.Diagnostics;
using System.Globalization;
using CausalKv.Tests.Simulation;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// A soak of the deterministic simulation: SIM_SEEDS random seeds (default 1000) of SIM_OPERATIONS operations
/// (default 300) each, every failing seed printed with its report so that <c>SIM_SEED=seed</c> replays it exactly;
/// SIM_TRACE sets how many of the run's last trace lines a report prints (default 80); SIM_LIVENESS=1 also fails a run
/// whose replicas, healed and quiet, still wait for a catch-up or a handoff report.
/// </summary>
internal static class SimulationScenario
{
    public static Task RunAsync(Report report)
    {
        var operations = Setting("SIM_OPERATIONS", 300);
        var prune = Environment.GetEnvironmentVariable("SIM_PRUNE") == "1";
        var liveness = Environment.GetEnvironmentVariable("SIM_LIVENESS") == "1";
        var traceLines = Setting("SIM_TRACE", 80);
        // SIM_SEED replays one seed, or a comma-separated list (e.g. the failing seeds of another build).
        var seeds = Environment.GetEnvironmentVariable("SIM_SEED") is { } given
            ? given.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            : RandomSeeds(Setting("SIM_SEEDS", 1000));
        var clock = Stopwatch.StartNew();
        var failed = new List<SimulationResult>();
        long ops = 0, waits = 0, crashes = 0, views = 0;
        foreach (var seed in seeds)
        {
            var result = Simulation.Run(seed, operations, prune, traceLines, liveness);
            (ops, waits, crashes, views) = (ops + result.Operations, waits + result.Waits, crashes + result.Crashes, views + result.ViewChanges);
            if (result.Passed) continue;
            failed.Add(result);
            Console.WriteLine(result.Report());
        }
        Console.WriteLine($"{seeds.Length - failed.Count} of {seeds.Length} seeds passed in {clock.Elapsed.TotalSeconds:0.0} s" +
                          (failed.Count > 0 ? $"; failing seeds: {string.Join(", ", failed.Select(f => f.Seed))} (replay: SIM_SEED=<seed> bench/run.sh simulation)" : ""));
        report.Add(new()
        {
            ["seeds"] = seeds.Length,
            ["operations per seed"] = operations,
            ["metadata pruned"] = prune,
            ["liveness checked"] = liveness,
            ["operations in all"] = ops,
            ["causal waits"] = waits,
            ["crashes"] = crashes,
            ["view changes"] = views,
            ["failed seeds"] = failed.Count,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
        });
        foreach (var f in failed.Take(10))
            report.Notes.Add($"seed {f.Seed}: {f.Violations[0]}");
        return Task.CompletedTask;
    }

    private static int[] RandomSeeds(int count)
    {
        var random = new Random();
        return Enumerable.Range(0, count).Select(_ => random.Next()).ToArray();
    }
}
