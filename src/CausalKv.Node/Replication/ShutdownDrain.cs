using CausalKv.Node.Configuration;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Replication;

/// <summary>
/// A node that stops (SIGTERM: a pod deleted, a service stopped) leaves its peers nothing they lack from it. The
/// server stops first (it is the last hosted service to start), finishing the requests in flight and taking no new
/// ones; then this waits until every replica it is in touch with acknowledged this node's own writes, within
/// <see cref="NodeOptions.ShutdownDrainTimeout"/>; only then do the replication links stop (it is registered after
/// <see cref="ReplicationCoordinator"/>, so it stops before it). A peer that does not answer is not waited for: it
/// gets the writes when both are back, from this node's durable store.
/// </summary>
public sealed partial class ShutdownDrain(ReplicationCoordinator replication, ReplicaStore store, TimeProvider time,
    IOptions<NodeOptions> options, ILogger<ShutdownDrain> log) : IHostedService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var timeout = options.Value.ShutdownDrainTimeout;
        var origin = store.Origin;
        while (true)
        {
            var mine = store.AppliedSnapshot().Get(origin);
            var lacking = replication.Links.Where(l => l.Reachable && l.KnownApplied.Get(origin) < mine).ToList();
            if (lacking.Count == 0)
            {
                Log.Drained(log, mine, time.GetElapsedTime(started).TotalMilliseconds);
                return;
            }
            if (time.GetElapsedTime(started) >= timeout || cancellationToken.IsCancellationRequested)
            {
                Log.NotDrained(log, string.Join(", ", lacking.Select(l => l.Peer.Id)), timeout.TotalSeconds);
                return;
            }
            foreach (var link in lacking) link.Wake();
            try { await Task.Delay(Poll, time, cancellationToken); }
            catch (OperationCanceledException) { }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 170, Level = LogLevel.Information, Message = "Stopping: every replica in touch holds this node's {Writes} writes ({Milliseconds:0} ms)")]
        public static partial void Drained(ILogger logger, long writes, double milliseconds);

        [LoggerMessage(EventId = 171, Level = LogLevel.Warning, Message = "Stopping before nodes {Peers} acknowledged this node's last writes ({Seconds} s, CausalKv:ShutdownDrainTimeout): they get them when this node is back")]
        public static partial void NotDrained(ILogger logger, string peers, double seconds);
    }
}
