using CausalKv.Node.Storage;
using CausalKv.Sharding;

namespace CausalKv.Node.Replication;

/// <summary>
/// After a view change, the keys this node's shard gains from other shards arrive by handoff. Until every node of
/// a key's previous shard reported its handoff complete and this replica holds the writes those reports name
/// (<see cref="HandoffFenceState"/> decides), a read of that key here waits instead of answering 404. Every change
/// but a lift is written to <see cref="MembershipFile"/> (a lift follows again from the reports and the durable log).
/// </summary>
public sealed class HandoffFence(ReplicaStore store, MembershipFile membership, TimeProvider time)
{
    private readonly object _gate = new();
    private volatile HandoffFenceState _state = HandoffFenceState.None;
    private DateTimeOffset? _since;

    public bool AnyPending => Lifted().AnyPending;

    /// <summary>How long the current fence has been up.</summary>
    public TimeSpan Age
    {
        get { lock (_gate) return _since is { } t ? time.GetUtcNow() - t : TimeSpan.Zero; }
    }

    public long Epoch => _state.Epoch;

    public IReadOnlyCollection<string> PendingShards => Lifted().PendingShards;

    /// <summary>
    /// Keys that belonged to a shard of <paramref name="sources"/> under <paramref name="oldRing"/> are fenced until each
    /// of its nodes reports. A node in no shard of the new view (null <paramref name="shard"/>) waits for nothing
    /// (<see cref="HandoffFenceState.Leave"/>).
    /// </summary>
    /// <param name="exempt">the nodes never waited for when a report names them (<see cref="HandoffFenceLayer.Exempt"/>)</param>
    /// <param name="joining">the nodes of <paramref name="sources"/> that join the shard from none (<see cref="HandoffPlan.JoiningPeers"/>)</param>
    public void Begin(long epoch, HashRing oldRing, IReadOnlyDictionary<string, IReadOnlySet<int>> sources, string? shard, IReadOnlySet<int>? exempt = null,
        IReadOnlySet<int>? joining = null)
    {
        lock (_gate)
        {
            _since = time.GetUtcNow();
            _state = shard is null ? _state.Leave(epoch, oldRing) : _state.Begin(epoch, oldRing, sources, shard, exempt, joining);
            membership.SaveFence(_state);
        }
    }

    /// <summary>
    /// A node of an old shard finished handing off for <paramref name="epoch"/>; true when that changed anything here.
    /// A change raises the store's change signal: reads waiting under the fence and a handoff waiting for earlier keys
    /// (<see cref="EarlierArrivedAsync"/>) look again.
    /// </summary>
    public bool Complete(long epoch, HandoffReport report)
    {
        lock (_gate)
        {
            var before = _state;
            _state = before.Report(epoch, report);
            if (ReferenceEquals(before, _state)) return false;
            membership.SaveFence(_state);
        }
        store.Changed.Signal();
        return true;
    }

    /// <summary>The newest view change's epoch and every report heard with its epoch, to tell the other replicas in gossip.</summary>
    public (long Epoch, IReadOnlyList<(long Epoch, HandoffReport Report)> Reports) Reported
    {
        get { var s = _state; return (s.Epoch, s.AllReports); }
    }

    public void Clear()
    {
        lock (_gate)
        {
            var before = _state;
            _state = before.Clear();
            if (!ReferenceEquals(before, _state)) membership.SaveFence(_state);
        }
    }

    /// <summary>The state to write down with a new view.</summary>
    public HandoffFenceState State => _state;

    /// <summary>A restart: the fence as the node left it (<see cref="MembershipFile"/>); its age counts from now.</summary>
    public void Resume(HandoffFenceState state)
    {
        lock (_gate)
        {
            _since = state.AnyPending ? time.GetUtcNow() : null;
            _state = state;
        }
    }

    /// <summary>The nodes whose keys are still on their way here under a view older than <paramref name="epoch"/> (<see cref="HandoffFenceState.AwaitedBefore"/>).</summary>
    public IReadOnlySet<int> AwaitedBefore(long epoch) => Lifted().AwaitedBefore(epoch);

    /// <summary>True while a layer of a view older than <paramref name="epoch"/> still waits: keys on their way here under it.</summary>
    public bool AwaitsEarlierThan(long epoch) => Lifted().Layers.Any(l => l.Epoch < epoch && l.Pending.Count > 0);

    /// <summary>
    /// Waits until no layer of a view older than <paramref name="epoch"/> waits any more (every key on its way here
    /// under it arrived), or <paramref name="limit"/> passed; true when they all arrived. It waits on the store's
    /// change signal, which every report and every arriving write raises, and a timer raises it once at the limit:
    /// the continuation runs where the signal was raised, on the node's own scheduler.
    /// </summary>
    public async Task<bool> EarlierArrivedAsync(long epoch, TimeSpan limit, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        using var atLimit = time.CreateTimer(_ => store.Changed.Signal(), null, limit, Timeout.InfiniteTimeSpan);
        using var stopping = ct.Register(() => store.Changed.Signal());
        while (true)
        {
            var changed = store.Changed.Next;
            if (!AwaitsEarlierThan(epoch)) return true;
            ct.ThrowIfCancellationRequested();
            if (time.GetElapsedTime(started) >= limit) return false;
            await changed;
        }
    }

    public bool IsPending(string key) => _state.IsPending(key) && Lifted().IsPending(key);

    /// <summary>The state after lifting every old shard whose reported writes this replica now holds.</summary>
    private HandoffFenceState Lifted()
    {
        var state = _state;
        if (!state.AwaitsWrites) return state;
        var applied = store.AppliedSnapshot();
        lock (_gate) return _state = _state.Lift(applied);
    }
}
