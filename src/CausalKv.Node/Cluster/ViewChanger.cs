using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Cluster;

/// <param name="Stale">True when the view was refused for its epoch (<see cref="ViewEpochVerdict.Stale"/>): nothing changed.</param>
public sealed record ViewChangeResult(long Epoch, string? Shard, bool Changed, int KeysHandedOff, IReadOnlyList<string> Errors, bool Stale = false);

/// <summary>A node's answer to <c>POST /view/prepare</c>.</summary>
/// <param name="Promised">True when the node promised the view (or had already): it will install no other layout under its epoch.</param>
/// <param name="Epoch">The epoch of the view the node holds.</param>
/// <param name="Holds">The highest epoch the node installed or promised: a router whose prepare was refused goes above it.</param>
/// <param name="Error">Why it was refused (null when promised).</param>
public sealed record ViewPrepareResult(bool Promised, long Epoch, long Holds, string? Error);

/// <summary>
/// Installs views one at a time: a new incarnation when this node's shard
/// changes, the new peers, and the handoff of every key that now belongs to
/// another shard (answered only once that shard acknowledged it). Each view is written to
/// <see cref="MembershipFile"/> with the fence and catch-up it starts and the handoff it owes, and a restarted node
/// resumes from there: <see cref="FinishOwedAsync"/> sends the "done" reports the view change still owes.
/// A view is promised before it is installed (<see cref="Prepare"/>, <see cref="ViewPromiseDecision"/>): the promise and
/// the install are decided under one lock, apart from the view changes' turn, so a prepare is answered at once even while
/// a handoff runs, and never races an install into two layouts under one epoch.
/// </summary>
public sealed class ViewChanger(
    ClusterState cluster,
    ReplicaStore store,
    ReplicationCoordinator replication,
    HandoffFence fence,
    Handoff handoff,
    MembershipFile membership,
    IOptions<NodeOptions> options,
    TimeProvider time,
    ILogger<ViewChanger> log)
{
    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly Lock _promises = new();

    /// <summary>Cancelled when a newer view arrives: the handoff running for an older one stops where it is.</summary>
    private CancellationTokenSource _superseded = new();

    /// <summary>Newer views waiting for their turn: until they had it, no other turn starts a handoff.</summary>
    private int _newerWaiting;

    private HandoffPlan? _installed;
    private Frontier? _installedSource;

    /// <summary>
    /// At start, before any request: the view, fence and catch-up the node had when it stopped (nothing when it had
    /// no view). The next <c>PUT /view</c> is then planned from that view, as if the node had never stopped.
    /// </summary>
    /// <param name="lostState">the node's store holds less than it did (set aside as corrupt, or kept in memory): it
    /// catches up with every peer of its shard before answering reads, as a replica new to the shard does</param>
    public void Resume(MembershipRecord record, bool lostState = false)
    {
        if (record.View is null) return;
        cluster.Install(record.View);
        fence.Resume(record.Fence);
        if (record.Handoff is { } owed)
        {
            // Planned again as it was: the same views and catch-up give the same keys to hand off and shards to tell.
            _installed = owed.Plan(record.View, cluster.NodeId);
            _installedSource = owed.SourceStable;
        }
        if (lostState && record.CatchUpFrom.Count == 0)
        {
            record = record with { CatchUpFrom = cluster.Current.Peers.Select(p => p.Id).ToHashSet() };
            membership.SaveCatchUp(record.CatchUpFrom);
        }
        replication.ExpectCatchUp(record.CatchUpFrom);
        NodeLog.ViewResumed(log, record.View.Epoch, record.View.ShardOf(cluster.NodeId) ?? "(none)",
            record.Fence.AnyPending ? string.Join(", ", record.Fence.PendingShards) : "(none)", record.CatchUpFrom.Count > 0);
    }

    /// <summary>True while the installed view's change still owes a shard its "done" (<see cref="OwedHandoff"/>).</summary>
    public bool OwesHandoff => _installed is { } p && membership.OwedFor(p.NewView.Epoch) is not null && p.NewView.Epoch == cluster.Current.Epoch;

    /// <summary>
    /// Runs the installed view's handoff again when it still owes reports: after a restart in the middle of it, or when
    /// a shard's handoff gave up at the deadline. Null when nothing is owed (or a newer view replaced it).
    /// </summary>
    public async Task<HandoffOutcome?> FinishOwedAsync(CancellationToken ct)
    {
        await EnterAsync(ct);
        using var turn = Supersedable(ct);
        try
        {
            if (!OwesHandoff || turn.IsCancellationRequested) return null;
            var epoch = _installed!.NewView.Epoch;
            // Bare reports already on their way are the relay's to finish: no need to scan the store for them.
            if (membership.OwedFor(epoch) is { } owed && handoff.RelaysAll(epoch, owed.Owed)) return null;
            return await HandOffAsync(_installed, _installedSource, turn.Token, ct);
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>
    /// <c>POST /view/prepare</c>: promises <paramref name="proposed"/> (its epoch and layout) when nothing this node
    /// installed or promised stands against it, recording the promise in <see cref="MembershipFile"/> before answering.
    /// </summary>
    public ViewPrepareResult Prepare(ShardView proposed)
    {
        ArgumentNullException.ThrowIfNull(proposed);
        lock (_promises)
        {
            var installed = cluster.Current.View;
            var decision = ViewPromiseDecision.Decide(installed, membership.Current.Promises, proposed);
            if (decision.Verdict == ViewPromiseVerdict.Promise) membership.SavePromise(proposed);
            if (decision.Verdict == ViewPromiseVerdict.Refused) NodeLog.ViewPromiseRefused(log, proposed.Epoch, decision.Holds, decision.Error!);
            else NodeLog.ViewPromised(log, proposed.Epoch, decision.Verdict == ViewPromiseVerdict.Kept);
            return new ViewPrepareResult(decision.Verdict != ViewPromiseVerdict.Refused, installed?.Epoch ?? 0, decision.Holds, decision.Error);
        }
    }

    /// <summary>
    /// A view newer than the installed one arrived: the handoff of the installed view (its own, one still owed, or the
    /// retry of a resend) stops where it is, instead of holding the newer view back for as long as its retries last
    /// (up to the causal-wait deadline per shard; a peer cut off from this node kept a newer view out for that long,
    /// and the fences waiting on this node's move timed out meanwhile). Nothing is lost: keys not acknowledged stay
    /// here, and the reports still owed go out with the newer view's handoff (<see cref="OwedHandoff.For"/>).
    /// </summary>
    private bool Supersede(ShardView proposed, bool epochGiven)
    {
        if (!epochGiven || proposed.Epoch <= cluster.Current.Epoch) return false;
        Interlocked.Increment(ref _newerWaiting);
        Volatile.Read(ref _superseded).Cancel();
        return true;
    }

    /// <summary>
    /// The token a turn's waits and handoffs run under: the caller's, and the arrival of a newer view. Cancelled from
    /// the start while a newer view still waits for its turn, so that an owed handoff or a resend that got the turn
    /// first gives it up at once.
    /// </summary>
    private CancellationTokenSource Supersedable(CancellationToken ct)
    {
        if (_superseded.IsCancellationRequested && Volatile.Read(ref _newerWaiting) == 0)
            Volatile.Write(ref _superseded, new CancellationTokenSource());
        return CancellationTokenSource.CreateLinkedTokenSource(ct, _superseded.Token);
    }

    private HandoffOutcome Superseded(long epoch)
    {
        NodeLog.HandoffSuperseded(log, epoch);
        return new HandoffOutcome(0, [$"a newer view arrived before the handoff of epoch {epoch} finished; what it still owes goes out with that view's"]);
    }

    /// <summary>
    /// Waits for the view changes before this one. The wait itself takes no token: a cancellable wait of a semaphore
    /// resumes on the thread pool whatever the caller's scheduler, and a simulation runs this on one thread. A caller
    /// that left meanwhile gives the turn straight back.
    /// </summary>
    private async Task EnterAsync(CancellationToken ct)
    {
        await _serial.WaitAsync();
        if (!ct.IsCancellationRequested) return;
        _serial.Release();
        ct.ThrowIfCancellationRequested();
    }

    public async Task<ViewChangeResult> ApplyAsync(ShardView proposed, bool epochGiven, CancellationToken ct)
    {
        var newer = Supersede(proposed, epochGiven);
        try
        {
            await EnterAsync(ct);
        }
        finally
        {
            if (newer) Interlocked.Decrement(ref _newerWaiting);
        }
        using var turn = Supersedable(ct);
        try
        {
            var step = Begin(proposed, epochGiven);
            if (step.Refused is { } refused) return refused;
            var old = step.Old;
            if (step.Plan is null)
            {
                // The same view again (a retry needs an installed view): finish any handoff still owed, change nothing else.
                var again = await HandOffAsync(_installed is { } p && p.NewView.Epoch == old.Epoch ? p : HandoffPlan.Unchanged(old.View!, cluster.NodeId),
                    _installed is { } q && q.NewView.Epoch == old.Epoch ? _installedSource : null, turn.Token, ct);
                return new ViewChangeResult(old.Epoch, old.MyShard, false, again.Keys, again.Errors);
            }
            var view = step.Plan.NewView;
            var result = await HandOffAsync(step.Plan, step.SourceStable, turn.Token, ct, awaitEarlier: step.StillOwed is null);
            return new ViewChangeResult(view.Epoch, step.Plan.NewShard, true, result.Keys, result.Errors);
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>What <see cref="Begin"/> decided: refused, a retry of the installed view (no plan), or a view installed as planned.</summary>
    private sealed record ChangeStep(Membership Old, ViewChangeResult? Refused, HandoffPlan? Plan = null, Frontier? SourceStable = null,
        IReadOnlySet<string>? StillOwed = null);

    /// <summary>
    /// Decides the proposed view's epoch (<see cref="ViewEpochDecision"/>) and checks it against the promises
    /// (<see cref="ViewPromiseDecision"/>), then installs it, all under the promise lock: a prepare never sees the node
    /// between the check and the install. Without an epoch the view goes above every promise too, conflicting with none.
    /// </summary>
    private ChangeStep Begin(ShardView proposed, bool epochGiven)
    {
        lock (_promises)
        {
            var old = cluster.Current;
            var promised = membership.Current.Promises.Above(old.Epoch);
            var highest = epochGiven ? old.Epoch : Math.Max(old.Epoch, promised.HighestEpoch);
            var decision = ViewEpochDecision.Decide(old.View, highest, proposed, epochGiven ? proposed.Epoch : null);
            if (decision.Verdict == ViewEpochVerdict.Stale)
                return new ChangeStep(old, new ViewChangeResult(old.Epoch, old.MyShard, false, 0, [decision.Error!], Stale: true));
            if (decision.Verdict == ViewEpochVerdict.Retry) return new ChangeStep(old, null);
            var promise = ViewPromiseDecision.Decide(old.View, promised, decision.View);
            if (promise.Verdict == ViewPromiseVerdict.Refused)
            {
                NodeLog.ViewPromiseRefused(log, decision.View.Epoch, promise.Holds, promise.Error!);
                return new ChangeStep(old, new ViewChangeResult(old.Epoch, old.MyShard, false, 0, [promise.Error!], Stale: true));
            }
            return Install(old, decision.View);
        }
    }

    private ChangeStep Install(Membership old, ShardView view)
    {
        var catchingUp = replication.CatchUpFrom;
        // Reports the view being replaced still owes go out with this view's handoff.
        var stillOwed = old.View is null ? null : membership.OwedFor(old.Epoch)?.Owed;
        var plan = HandoffPlan.Create(old.View, view, cluster.NodeId, catchingUp);
        // What every replica of the shard the keys leave holds, taken before this node leaves it.
        var sourceStable = replication.SourceStable;
        if (plan.ShardChanged && plan.NewShard is not null) membership.SaveIncarnation(store.StartIncarnation(cluster.NodeId));
        // Keys still on their way here under earlier views: a node that changes shards stops waiting for them below,
        // so its reports name their senders, and the shards it reports to wait for those instead.
        var awaited = plan.ReportedAwaits(fence.AwaitedBefore(view.Epoch));
        if (old.Ring is not null)
            // Also with nothing to wait for: the fence then keeps this epoch's reports, to pass on in gossip.
            fence.Begin(view.Epoch, old.Ring, plan.FenceSources, plan.NewShard, plan.EstablishedPeers.Append(cluster.NodeId).ToHashSet(),
                plan.JoiningPeers);
        // New to the shard, or still catching up in it: from those of the peers that hold its data and stay. Expected
        // before the view serves reads, as the fence is: a read under it must not find the replica "caught up" with
        // the shard it just left.
        if (plan.NewShard is not null && (plan.ShardChanged || catchingUp.Count > 0)) replication.ExpectCatchUp(plan.CatchUpFrom, view.Epoch);
        cluster.Install(view);
        // Reads waiting under the view before re-check: the key they wait for may have left this shard.
        store.Changed.Signal();
        _installed = plan;
        _installedSource = sourceStable;
        membership.SaveView(view, fence.State, replication.CatchUpFrom, OwedHandoff.For(plan, catchingUp, sourceStable, stillOwed, awaited));
        var incoming = fence.AnyPending && fence.Epoch == view.Epoch ? string.Join(", ", fence.PendingShards) : "(none)";
        NodeLog.ViewInstalled(log, view.Epoch, cluster.NodeId, plan.NewShard ?? "(none)", plan.OldShard ?? "(none)",
            view.AllNodes.Count, view.ShardNames.Count, incoming);
        return new ChangeStep(old, null, plan, sourceStable, stillOwed);
    }

    /// <summary>The handoff of a turn, stopped where it is when a newer view arrives (<see cref="Supersede"/>).</summary>
    private async Task<HandoffOutcome> HandOffAsync(HandoffPlan plan, Frontier? sourceStable, CancellationToken turn, CancellationToken ct,
        bool awaitEarlier = false)
    {
        try
        {
            if (awaitEarlier) await AwaitEarlierKeysAsync(plan, turn);
            return await handoff.HandOffStrayKeysAsync(plan, sourceStable, turn);
        }
        catch (OperationCanceledException) when (turn.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return Superseded(plan.NewView.Epoch);
        }
    }

    /// <summary>
    /// A node that stays in its shard hands off only once the keys still on their way to that shard under an earlier
    /// view are here. Its "done" tells the receivers that its whole store went over, and they lift their fence on it
    /// (<see cref="HandoffFenceState.Report"/>): a key that arrived after the scan would reach them later, as a stray,
    /// while they already answered that it does not exist. An earlier layer waits for a handoff in flight, or for the report of
    /// a sender that is slow or down; the wait is bounded by a tenth of the causal-wait deadline (3 s by default), so
    /// that such a sender, or one whose own report waits for this one's, holds the view change no longer than that. The
    /// bound narrows the race rather than closing it: a key that arrives after it still reaches the receivers as a stray. A node that changed shards does not wait: the keys of
    /// its old shard's earlier views go to that shard's other replicas, never to it. Nor does one that still owes
    /// the reports of the view it replaces (it stopped in the middle of that handoff): they go out with this view's,
    /// and the replicas it waits for may wait for them in turn; a run that owes nothing has sent every report of
    /// every earlier view, so the waits follow the epochs down and never go round in a circle.
    /// </summary>
    private async Task AwaitEarlierKeysAsync(HandoffPlan plan, CancellationToken ct)
    {
        var epoch = plan.NewView.Epoch;
        if (!StaysInShard(plan) || !fence.AwaitsEarlierThan(epoch)) return;
        var started = time.GetTimestamp();
        var incoming = string.Join(", ", fence.PendingShards);
        var arrived = await fence.EarlierArrivedAsync(epoch, options.Value.CausalWaitDeadline / 10, ct);
        NodeLog.HandoffAwaitedEarlierKeys(log, epoch, (long)time.GetElapsedTime(started).TotalMilliseconds, incoming, arrived);
    }

    private static bool StaysInShard(HandoffPlan plan) => plan.NewShard is not null && !plan.ShardChanged;
}
