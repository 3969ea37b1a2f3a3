using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// Deterministic simulation of the cluster (see <see cref="Simulation"/>): a fixed set of seeds on every run, and
/// on demand thousands of random ones. A failure names its seed; <c>CAUSALKV_SIM_SEED=seed</c> replays it exactly.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
    public const string SeedsVariable = "CAUSALKV_SIM_SEEDS";
    public const string SeedVariable = "CAUSALKV_SIM_SEED";
    public const string OperationsVariable = "CAUSALKV_SIM_OPERATIONS";
    private const int Operations = 300;

    public static TheoryData<int> FixedSeeds => new(Enumerable.Range(1, 40));

    [Theory]
    [MemberData(nameof(FixedSeeds))]
    public void A_seeded_run_keeps_every_guarantee(int seed)
    {
        var result = Simulation.Run(seed, Operations);
        output.WriteLine($"seed {seed}: {result.Operations} operations, {result.Waits} waits, {result.Crashes} crashes, " +
            $"{result.ViewChanges} view changes, {result.SimulatedMilliseconds} simulated ms");
        Assert.True(result.Passed, result.Report());
    }

    [Fact]
    public void A_seed_replays_exactly()
    {
        var first = Simulation.Run(7, 120);
        var again = Simulation.Run(7, 120);
        Assert.Equal(first.TraceTail, again.TraceTail);
        Assert.Equal(first.SimulatedMilliseconds, again.SimulatedMilliseconds);
    }

    /// <summary>
    /// <c>CAUSALKV_SIM_SEEDS=N</c>: N random seeds, stopping at the first that fails, whose report names it;
    /// <c>CAUSALKV_SIM_SEED=s</c>: seed s alone. <c>CAUSALKV_SIM_OPERATIONS</c> sets the operations per run (300).
    /// </summary>
    [SimulationSoakFact]
    public void Random_seeds_keep_every_guarantee()
    {
        var operations = int.TryParse(Environment.GetEnvironmentVariable(OperationsVariable), CultureInfo.InvariantCulture, out var o) ? o : Operations;
        if (int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), CultureInfo.InvariantCulture, out var replay))
        {
            var result = Simulation.Run(replay, operations);
            output.WriteLine(result.Passed ? $"seed {replay} passed" : result.Report());
            Assert.True(result.Passed, result.Report());
            return;
        }
        var count = int.Parse(Environment.GetEnvironmentVariable(SeedsVariable)!, CultureInfo.InvariantCulture);
        var seeds = new Random();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var seed = seeds.Next();
            var result = Simulation.Run(seed, operations);
            Assert.True(result.Passed, $"after {i} passing seeds: " + result.Report());
        }
        output.WriteLine($"{count} seeds of {operations} operations passed in {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
