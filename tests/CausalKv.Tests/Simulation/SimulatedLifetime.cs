using Microsoft.Extensions.Hosting;

namespace CausalKv.Tests.Simulation;

/// <summary>The host of a simulated node: it never stops by itself; a crash drops the node's life as a whole.</summary>
internal sealed class SimulatedLifetime : IHostApplicationLifetime
{
    public CancellationToken ApplicationStarted => CancellationToken.None;

    public CancellationToken ApplicationStopping => CancellationToken.None;

    public CancellationToken ApplicationStopped => CancellationToken.None;

    public void StopApplication() { }
}
