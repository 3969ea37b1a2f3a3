namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// The dashboard's web host lives inside the AppHost (or a test), which owns the
/// process's signals: the default console lifetime would take SIGTERM and Ctrl+C
/// for itself and stop only the dashboard, leaving the cluster running.
/// </summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
