using CausalKv.Node.Configuration;
using CausalKv.Sharding;

namespace CausalKv.Node.Replication;

/// <summary>
/// The view this node follows, the ring built from it, and where this node
/// stands in it. Replaced as a whole on every view change; readers take one
/// <see cref="Membership"/> snapshot per request and use it throughout.
/// </summary>
public sealed class ClusterState
{
    private volatile Membership _current;

    private readonly TimeProvider _time;

    public ClusterState(NodeIdentity identity, TimeProvider? time = null)
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
