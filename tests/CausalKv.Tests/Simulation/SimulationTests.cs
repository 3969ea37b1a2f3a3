using Xunit.Abstractions;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// Deterministic simulation of the cluster (see <see cref="Simulation"/>): a fixed set of seeds on every run.
/// Thousands of random seeds run with <c>bench/run.sh simulation</c>; a failure names its seed, and
/// <c>SIM_SEED=seed bench/run.sh simulation</c> replays it exactly.
/// </summary>
public sealed class SimulationTests(ITestOutputHelper output)
{
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

    /// <summary>
    /// Seeds whose runs end with a replica still far behind its peer (packets slower than the request timeout): the
    /// run must wait for it to catch up before it judges convergence, not stop at the first quiet round.
    /// </summary>
    [Theory]
    [InlineData(174000120)]
    [InlineData(1268455802)]
    public void A_run_judges_convergence_only_once_replication_finished(int seed)
    {
        var result = Simulation.Run(seed, Operations);
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
}
