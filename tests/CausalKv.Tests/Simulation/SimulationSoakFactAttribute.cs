namespace CausalKv.Tests.Simulation;

/// <summary>
/// A test that runs only when asked for: with <c>CAUSALKV_SIM_SEEDS=N</c> (N random seeds) or
/// <c>CAUSALKV_SIM_SEED=s</c> (replay one seed) in the environment; skipped otherwise.
/// </summary>
public sealed class SimulationSoakFactAttribute : FactAttribute
{
    public SimulationSoakFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(SimulationTests.SeedsVariable) is null
            && Environment.GetEnvironmentVariable(SimulationTests.SeedVariable) is null)
            Skip = $"set {SimulationTests.SeedsVariable}=N to run N random seeds, or {SimulationTests.SeedVariable}=s to replay seed s";
    }
}
