using System.Diagnostics;
using System.Globalization;
using CausalKv.Tests.Simulation;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// A soak of the deterministic simulation: SIM_SEEDS random seeds (default 1000) of SIM_OPERATIONS operations
/// (default 300) each, in both modes (sessions carrying every dependency, and carrying them pruned as the node prunes
/// them; SIM_PRUNE=0 or 1 runs one), every failing seed printed with its report so that <c>SIM_SEED=seed</c> replays it
/// exactly; SIM_TRACE sets how many of the run's last trace lines a report prints (default 80); SIM_LIVENESS=1 also
/// fails a run whose replicas, healed and quiet, still wait for a catch-up or a handoff report; SIM_RESTARTS=1 restarts
/// the first router a while after each declaration (it forgets the views and departed nodes it saw). Runs are independent
/// (each on its own thread, clock and network): SIM_THREADS of them (default 2) run at once.
/// </summary>
internal static class SimulationScenario
{
    public static Task RunAsync(Report report)
    {
        var operations = Setting("SIM_OPERATIONS", 300);
        bool[] modes = Environment.GetEnvironmentVariable("SIM_PRUNE") switch
        {
            "1" => [true],
            "0" => [false],
            _ => [false, true],
        };
        var liveness = Environment.GetEnvironmentVariable("SIM_LIVENESS") == "1";
        var restarts = Environment.GetEnvironmentVariable("SIM_RESTARTS") == "1";
        var traceLines = Setting("SIM_TRACE", 80);
        var threads = Setting("SIM_THREADS", 2);
        // SIM_SEED replays one seed, or a comma-separated list (e.g. the failing seeds of another build).
        var seeds = Environment.GetEnvironmentVariable("SIM_SEED") is { } given
            ? given.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            : RandomSeeds(Setting("SIM_SEEDS", 1000));
        foreach (var prune in modes)
        {
            var clock = Stopwatch.StartNew();
            var results = new SimulationResult[seeds.Length];
            Parallel.For(0, seeds.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
            {
                results[i] = Simulation.Run(seeds[i], operations, prune, traceLines, liveness, restartReconciler: restarts);
                if (!results[i].Passed) Console.WriteLine(results[i].Report());
            });
            var failed = results.Where(r => !r.Passed).ToList();
            Console.WriteLine($"{seeds.Length - failed.Count} of {seeds.Length} seeds passed (metadata pruned: {prune}) in {clock.Elapsed.TotalSeconds:0.0} s" +
                              (failed.Count > 0 ? $"; failing seeds: {string.Join(", ", failed.Select(f => f.Seed))} (replay: SIM_SEED=<seed> bench/run.sh simulation)" : ""));
            report.Add(new()
            {
                ["seeds"] = seeds.Length,
                ["operations per seed"] = operations,
                ["metadata pruned"] = prune,
                ["liveness checked"] = liveness,
                ["router restarts"] = restarts,
                ["operations in all"] = results.Sum(r => (long)r.Operations),
                ["causal waits"] = results.Sum(r => (long)r.Waits),
                ["crashes"] = results.Sum(r => (long)r.Crashes),
                ["view changes"] = results.Sum(r => (long)r.ViewChanges),
                ["views resent"] = results.Sum(r => (long)r.Resends),
                ["rounds standing down"] = results.Sum(r => (long)r.StandDowns),
                ["failed seeds"] = failed.Count,
                ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1),
            });
            foreach (var f in failed.Take(10))
                report.Notes.Add($"seed {f.Seed} (metadata pruned: {prune}): {f.Violations[0]}");
        }
        return Task.CompletedTask;
    }

    private static int[] RandomSeeds(int count)
    {
        var random = new Random();
        return Enumerable.Range(0, count).Select(_ => random.Next()).ToArray();
    }
}
