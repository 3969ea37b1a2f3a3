using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Discovery;

/// <summary>
/// Follows the highest epoch seen anywhere. Invariant: the map the router routes by only ever moves to a view
/// of a higher epoch; a node's <see cref="Replica"/> (its load and health) survives a view change as long as the
/// node keeps its id and address.
/// </summary>
internal sealed class ViewTracker
{
    private readonly Lock _gate = new();
    private readonly RouterTelemetry _telemetry;
    private readonly ILogger<ViewTracker> _log;
    private Dictionary<ViewNode, Replica> _replicas = [];
    private volatile ClusterMap _current = ClusterMap.Empty;
    private long _highestEpoch;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ViewTracker(IConfiguration configuration, IOptions<RouterOptions> options, RouterTelemetry telemetry, ILogger<ViewTracker> log)
    {
        _telemetry = telemetry;
        _log = log;
        Seeds = NodeSeeds.Read(configuration, options.Value.Seeds);
        telemetry.ObserveEpoch(() => _current.Epoch);
    }

    /// <summary>Node URLs from configuration, asked for the view even before one is known.</summary>
    public IReadOnlyList<string> Seeds { get; }

    /// <summary>The map requests are routed by now.</summary>
    public ClusterMap Current => _current;

    /// <summary>The highest epoch any node reported (or the router installed), with or without a view.</summary>
    public long HighestEpoch => Interlocked.Read(ref _highestEpoch);

    /// <summary>Completes when the next view is installed.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Where to ask for the view: the seeds and every node of the current view.</summary>
    public IReadOnlyList<string> PollTargets()
    {
        var targets = new List<string>(Seeds);
        foreach (var replica in _current.AllReplicas)
        {
            if (!targets.Contains(replica.BaseUrl, StringComparer.OrdinalIgnoreCase)) targets.Add(replica.BaseUrl);
        }
        return targets;
    }

    /// <summary>Takes in what a node reported (or what the router itself installed); returns true when routing moved to <paramref name="view"/>.</summary>
    public bool Observe(long epoch, ShardView? view)
    {
        RaiseHighestEpoch(Math.Max(epoch, view?.Epoch ?? 0));
        if (view is null || view.Epoch <= _current.Epoch) return false;
        TaskCompletionSource changed;
        long previous;
        lock (_gate)
        {
            if (view.Epoch <= _current.Epoch) return false;
            var replicas = new Dictionary<ViewNode, Replica>();
            foreach (var node in view.AllNodes)
            {
                replicas[node] = _replicas.TryGetValue(node, out var known) ? known : new Replica(node);
            }
            _replicas = replicas;
            previous = _current.Epoch;
            _current = ClusterMap.For(view, node => replicas[node]);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        _telemetry.ViewsInstalled.Add(1);
        RouterLog.ViewFollowed(_log, view.Epoch, previous, view.ShardNames.Count, view.AllNodes.Count, view.ToString());
        changed.TrySetResult();
        return true;
    }

    private void RaiseHighestEpoch(long epoch)
    {
        var seen = Interlocked.Read(ref _highestEpoch);
        while (epoch > seen)
        {
            var previous = Interlocked.CompareExchange(ref _highestEpoch, epoch, seen);
            if (previous == seen) return;
            seen = previous;
        }
    }
}
