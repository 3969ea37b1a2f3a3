using CausalKv.Sharding;

namespace CausalKv.Node.Cluster;

/// <summary>
/// The view this node follows, the ring built from it, and where this node
/// stands in it. Replaced as a whole on every view change; readers take one
/// <see cref="Membership"/> snapshot per request and use it throughout.
/// </summary>
public sealed class ClusterState
{
    private volatile Membership _current;

    private readonly TimeProvider _time;

    public ClusterState(Hosting.NodeIdentity identity, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        NodeId = identity.NodeId;
        _current = Membership.None(NodeId);
    }

    public int NodeId { get; }

    public Membership Current => _current;

    public event Action<Membership, Membership>? Changed;

    private long _highestEpochSeen;

    /// <summary>The newest view epoch any peer has mentioned; above ours means our view is behind.</summary>
    public long HighestEpochSeen => Math.Max(Interlocked.Read(ref _highestEpochSeen), Current.Epoch);

    public void ObserveEpoch(long epoch)
    {
        long seen;
        while (epoch > (seen = Interlocked.Read(ref _highestEpochSeen)))
            if (Interlocked.CompareExchange(ref _highestEpochSeen, epoch, seen) == seen) return;
    }

    private volatile bool _strayArrived;

    /// <summary>
    /// Records that versions of <paramref name="keys"/> were just stored here: if this node does not own one of them
    /// (sent by a peer under another view), the stray-key sweep runs, instead of scanning the whole store every time.
    /// </summary>
    public void Received(IEnumerable<string> keys)
    {
        var m = Current;
        if (m.View is null) return;
        foreach (var key in keys)
            if (!m.Owns(key))
            {
                _strayArrived = true;
                return;
            }
    }

    /// <summary>True once after a key this node does not own was stored (see <see cref="Received"/>).</summary>
    public bool TakeStrayArrival()
    {
        if (!_strayArrived) return false;
        _strayArrived = false;
        return true;
    }

    public void Install(ShardView view)
    {
        var old = _current;
        var next = new Membership(NodeId, view, new HashRing(view.ShardNames));
        _current = next;
        Changed?.Invoke(old, next);
        _installed.Signal();
    }

    private readonly CausalKv.Replication.ChangeSignal _installed = new();

    /// <summary>
    /// Waits until this node follows view <paramref name="epoch"/> or a later one: true then, false at
    /// <paramref name="within"/> (the view did not come).
    /// </summary>
    public async Task<bool> WaitForEpochAsync(long epoch, TimeSpan within, CancellationToken ct)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            var next = _installed.Next;
            if (Current.Epoch >= epoch) return true;
            var left = within - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero) return false;
            try { await next.WaitAsync(left, _time, ct); }
            catch (TimeoutException) { return Current.Epoch >= epoch; }
        }
    }
}

/// <summary>One immutable snapshot of the cluster as this node sees it.</summary>
public sealed class Membership
{
    public Membership(int nodeId, ShardView? view, HashRing? ring)
    {
        NodeId = nodeId;
        View = view;
        Ring = ring;
        MyShard = view?.ShardOf(nodeId);
        Peers = MyShard is null ? [] : view!.NodesOf(MyShard).Where(n => n.Id != nodeId).ToArray();
        Self = MyShard is null ? null : view!.NodesOf(MyShard).First(n => n.Id == nodeId);
        EpochText = Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public static Membership None(int nodeId) => new(nodeId, null, null);

    public int NodeId { get; }
    public ShardView? View { get; }
    public HashRing? Ring { get; }
    public string? MyShard { get; }
    public ViewNode? Self { get; }
    public IReadOnlyList<ViewNode> Peers { get; }
    public long Epoch => View?.Epoch ?? 0;

    /// <summary><see cref="Epoch"/> as every data answer's <c>X-CausalKv-Epoch</c> says it, formatted once per view.</summary>
    public string EpochText { get; }
    public bool InView => MyShard is not null;

    public string? ShardFor(string key) => Ring?.ShardFor(key);

    public bool Owns(string key) => MyShard is not null && Ring!.ShardFor(key) == MyShard;
}
