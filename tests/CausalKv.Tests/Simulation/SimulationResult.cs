namespace CausalKv.Tests.Simulation;

/// <summary>What one run did and what its checks found; <see cref="Report"/> is what a failure prints.</summary>
internal sealed record SimulationResult(
    int Seed, int Operations, int Reads, int Writes, int Waits, int Abandoned, int Crashes, int ViewChanges,
    long SimulatedMilliseconds, IReadOnlyList<string> Violations, string TraceTail, int Scans = 0, long LogEntriesShed = 0,
    long TraceEvents = 0, ulong TraceDigest = 0, int Resends = 0, int StandDowns = 0)
{
    /// <summary>Installs the reconcilers gave up before sending anything because a node had promised another view (409).</summary>
    public int PromisesRefused { get; init; }

    public bool Passed => Violations.Count == 0;

    public string Report() =>
        $"Simulation seed {Seed} failed ({Violations.Count} violations; replay with SIM_SEED={Seed} bench/run.sh simulation):" + Environment.NewLine +
        string.Join(Environment.NewLine, Violations.Take(12).Select(v => "  - " + v)) + Environment.NewLine +
        $"run: {Operations} operations ({Reads} reads answered, {Writes} writes stored), {Waits} causal waits, {Abandoned} reads abandoned, " +
        $"{Crashes} crashes, {ViewChanges} view changes ({Resends} resends, {StandDowns} rounds standing down), {SimulatedMilliseconds} simulated ms" + Environment.NewLine +
        "last events:" + Environment.NewLine + TraceTail;
}
