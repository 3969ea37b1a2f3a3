using System.Runtime.CompilerServices;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Protocol;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Replication;

/// <summary>
/// Keeps one <see cref="PeerLink"/> per other replica of this node's shard,
/// answers the peers' gossip and replication, and derives from what the peers
/// report the shard's stable frontier: the writes every replica holds, which
/// client metadata no longer needs to carry.
/// </summary>
public sealed class ReplicationCoordinator : IHostedService, IAsyncDisposable
{
    private readonly ReplicaStore _store;
    private readonly IPeerTransport _client;
    private readonly TimeProvider _time;
    private readonly NodeTelemetry _telemetry;
    private readonly ClusterState _cluster;
    private readonly ILogger<ReplicationCoordinator> _log;
    private readonly object _gate = new();
    private Dictionary<int, PeerLink> _links = [];
    // Boxed so that readers on other threads (every read and write asks IsStable) take each whole, with a volatile read.
    private volatile StrongBox<Frontier> _stable = new(CausalKv.Causality.Frontier.Empty);
    private volatile StrongBox<Frontier> _effective = new(CausalKv.Causality.Frontier.Empty);
    private readonly ShardStability _stability = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Frontier> _remote = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _remoteLoop;
    private volatile bool _caughtUp = true;
    private IReadOnlySet<int> _catchUpFrom = new HashSet<int>();

    private readonly HandoffFence _fence;
    private string? _shard;
    private readonly MembershipFile _membership;

    public ReplicationCoordinator(ReplicaStore store, IPeerTransport client, TimeProvider time, NodeTelemetry telemetry, ClusterState cluster,
        HandoffFence fence, MembershipFile membership, IOptions<NodeOptions> options, ILogger<ReplicationCoordinator> log)
    {
        _fence = fence;
        _membership = membership;
        _store = store;
        _client = client;
        _time = time;
        _telemetry = telemetry;
        _cluster = cluster;
        _log = log;
        BatchEntries = options.Value.ReplicationBatchEntries;
        GossipInterval = options.Value.GossipInterval;
        _store.LocalWrite += OnLocalWrite;
        _cluster.Changed += (_, next) => Reconcile(next);
        telemetry.Observe(() => _store.Count, ReplicationLag);
        telemetry.ObserveReplicationLog(() => _store.LogBytes, () => _store.LogEntriesShed);
    }

    public int BatchEntries { get; }

    public TimeSpan GossipInterval { get; }

    /// <summary>What every replica of this shard holds, per origin.</summary>
    public Frontier Stable => _stable.Value;

    /// <summary>
    /// False while this replica, new to its shard, has not yet caught up with
    /// any peer: until then it may lack writes clients no longer carry
    /// dependencies on, so reads wait.
    /// </summary>
    public bool CaughtUp => _caughtUp;

    /// <summary>
    /// True when a peer's digest may tell this node it caught up: made at this node's epoch or later (one sent before
    /// it joined and delivered late says too little) by a peer that lacks nothing itself.
    /// </summary>
    private bool CountsForCatchUp(GossipDigest digest) =>
        digest.Epoch >= Math.Max(_cluster.Current.Epoch, Volatile.Read(ref _catchUpEpoch)) && digest.CatchingUp != true;

    /// <summary>The epoch of the view whose catch-up is expected (set before that view is installed).</summary>
    private long _catchUpEpoch;

    /// <summary>The peers this replica must still catch up with (empty once it has).</summary>
    public IReadOnlySet<int> CatchUpFrom
    {
        get { lock (_gate) return _caughtUp ? new HashSet<int>() : _catchUpFrom; }
    }

    public IReadOnlyCollection<PeerLink> Links
    {
        get { lock (_gate) return _links.Values.ToArray(); }
    }

    /// <summary>What every replica of this shard holds: its own origins' stable writes and those of completed handoffs.</summary>
    public Frontier Effective => _effective.Value;

    public IReadOnlyDictionary<string, Frontier> RemoteFrontiers => _remote;

    /// <summary>
    /// True when every replica of the key's current shard holds the writes the
    /// dependency names, so no client needs to carry it any more. Judged by the
    /// frontier of the shard that owns the key now: ours, or the one its
    /// replicas last reported.
    /// </summary>
    public bool IsStable(string key, Dependency dependency)
    {
        var m = _cluster.Current;
        var shard = m.ShardFor(key);
        if (shard is null) return false;
        // A key on its way here from its previous shard: nodes of that shard still on the old view answer for it
        // without this write, so the session keeps the dependency until every one of them handed the key off.
        if (shard == m.MyShard) return dependency.Clock.IsCoveredBy(Effective) && !_fence.IsPending(key);
        if (_remote.TryGetValue(shard, out var frontier) && dependency.Clock.IsCoveredBy(frontier)) return true;
        // An answer carries a dependency on another shard's key that this node cannot tell stable yet: ask that shard
        // again soon rather than at the idle pace, so that the session drops it at its next request here.
        if (Volatile.Read(ref _remoteWanted) == 0) Volatile.Write(ref _remoteWanted, 1);
        return false;
    }

    /// <summary>How often other shards' frontiers are asked for while nothing here waits on them.</summary>
    private static readonly TimeSpan RemoteFrontierIdleInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often they are asked for while answers here carry dependencies on their keys not yet known stable: a
    /// session's request comes every few milliseconds under load, and what it carries of another shard's writes is
    /// dropped only once this node learned that shard's frontier (one small request per other shard each time).
    /// </summary>
    private static readonly TimeSpan RemoteFrontierBusyInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>1 when an answer since the last poll kept a dependency on another shard's key (see <see cref="IsStable"/>).</summary>
    private int _remoteWanted;

    /// <summary>
    /// Remembers that a whole handoff arrived in this shard as the writes <paramref name="requires"/> names: once
    /// every replica holds those, every replica holds what the old shard's frontier named for the moved keys
    /// (<see cref="ShardStability.RecordImport"/>).
    /// </summary>
    public void RecordImport(Frontier requires, Frontier? sourceStable)
    {
        if (sourceStable is not { IsEmpty: false }) return;
        lock (_gate) _stability.RecordImport(requires, sourceStable);
        RecomputeStable();
    }

    /// <summary>
    /// What a handoff of this shard's keys may tell its receivers every replica here holds: the effective frontier,
    /// or only the stable one while this replica has not caught up (it may lack what the foreign frontier names).
    /// Taken before a view change takes this node out of the shard.
    /// </summary>
    public Frontier SourceStable
    {
        get { lock (_gate) return _caughtUp ? Effective : _stability.Stable; }
    }

    private void Reconcile(Membership next)
    {
        List<PeerLink> removed;
        lock (_gate)
        {
            // What completed handoffs made stable was about the replicas of the shard this node was in.
            if (!string.Equals(_shard, next.MyShard, StringComparison.Ordinal)) _stability.Forget();
            _shard = next.MyShard;
            var wanted = next.Peers.ToDictionary(p => p.Id);
            var links = new Dictionary<int, PeerLink>();
            removed = [];
            foreach (var (id, link) in _links)
            {
                if (wanted.TryGetValue(id, out var peer) && peer == link.Peer) links[id] = link;
                else removed.Add(link);
            }
            foreach (var (id, peer) in wanted)
                if (!links.ContainsKey(id)) links[id] = new PeerLink(peer, _store, _client, _telemetry, _time,
                    BatchEntries, GossipInterval, Digest, ToMessage, OnPeerHeard);
            _links = links;
        }
        foreach (var link in removed) _ = link.DisposeAsync().AsTask();
        // Other shards' frontiers were told under the view before: their shards may hold other keys now.
        _remote.Clear();
        RecomputeStable();
    }

    /// <summary>Called when this node joins a shard it holds no data for: reads wait until it caught up with a peer.</summary>
    /// <param name="epoch">the view the catch-up is for: only peers' digests made at it or later count</param>
    public void ExpectCatchUp(IReadOnlySet<int> establishedPeers, long epoch = 0)
    {
        lock (_gate)
        {
            if (epoch > _catchUpEpoch) Volatile.Write(ref _catchUpEpoch, epoch);
            _catchUpFrom = establishedPeers;
            _caughtUp = establishedPeers.Count == 0;
        }
    }

    private void OnLocalWrite()
    {
        PeerLink[] links;
        lock (_gate) links = _links.Values.ToArray();
        if (links.Length == 0) { RecomputeStable(); return; }
        foreach (var link in links) link.Wake();
    }

    /// <summary>A link heard from its peer: what it reported of its frontier, and of completed handoffs in its digest.</summary>
    private void OnPeerHeard(PeerHeard heard)
    {
        OnPeerFrontier(heard.Link, heard.Applied, current: heard.Digest is { } digest && CountsForCatchUp(digest));
        if (heard.Digest is not null) OnPeerDigest(heard.Digest);
    }

    /// <param name="current">true when the report is one this node may judge its catch-up by: a digest the peer made
    /// at this node's epoch or later (not one sent long before and delivered late) while it had caught up itself</param>
    private void OnPeerFrontier(PeerLink link, Frontier reported, bool current)
    {
        // Only a peer that held the shard before this view holds its data: another newcomer may lack it too. And
        // only what it reported since: a digest sent before this node joined, delivered late, says too little.
        if (!_caughtUp && current && _catchUpFrom.Contains(link.Peer.Id) && _store.Covers(reported))
        {
            _caughtUp = true;
            _membership.SaveCatchUp(new HashSet<int>());
            NodeLog.CaughtUp(_log, link.Peer.Id);
            _store.Changed.Signal();
        }
        RecomputeStable();
    }

    private void RecomputeStable()
    {
        var frontiers = new List<Frontier> { _store.AppliedSnapshot() };
        Frontier stable;
        lock (_gate)
        {
            frontiers.AddRange(_links.Values.Select(l => l.KnownApplied));
            _stability.Recompute(frontiers);
            stable = _stability.Stable;
            if (stable != _stable.Value) _stable = new(stable);
            if (_stability.Effective != _effective.Value) _effective = new(_stability.Effective);
        }
        _store.TrimLogs(stable);
    }

    private void LearnForeign(Frontier? foreign)
    {
        bool learned;
        lock (_gate) learned = _stability.LearnForeign(foreign);
        if (learned) RecomputeStable();
    }

    /// <summary>
    /// What every replica of this shard holds, for other shards to prune dependencies on its keys by: nothing while keys
    /// are on their way here (nodes of their previous shard still on the old view answer for them without what this
    /// shard wrote since).
    /// </summary>
    public ShardFrontier Frontier()
    {
        var m = _cluster.Current;
        return new ShardFrontier
        {
            Shard = m.MyShard,
            Epoch = m.Epoch,
            Stable = _fence.AnyPending ? CausalKv.Causality.Frontier.Empty : Effective,
        };
    }

    /// <summary>
    /// Every second, or every <see cref="RemoteFrontierBusyInterval"/> while answers here carry dependencies on other
    /// shards' keys, asks one replica of every other shard for its frontier, so metadata on its keys can be pruned here.
    /// </summary>
    private async Task PollRemoteFrontiersAsync(CancellationToken ct)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(RemoteFrontierBusyInterval, _time);
        var rotation = 0;
        var lastPoll = _time.GetTimestamp();
        while (await timer.WaitForNextTickAsync(ct))
        {
            if (Interlocked.Exchange(ref _remoteWanted, 0) == 0 && _time.GetElapsedTime(lastPoll) < RemoteFrontierIdleInterval) continue;
            lastPoll = _time.GetTimestamp();
            var m = _cluster.Current;
            if (m.View is null) continue;
            foreach (var stale in _remote.Keys.Where(k => !m.View.Shards.ContainsKey(k) || k == m.MyShard)) _remote.TryRemove(stale, out _);
            rotation++;
            await Task.WhenAll(m.View.ShardNames.Where(s => s != m.MyShard).Select(async shard =>
            {
                var replicas = m.View.NodesOf(shard);
                for (var i = 0; i < replicas.Count; i++)
                {
                    var target = replicas[(rotation + i) % replicas.Count];
                    try
                    {
                        var (frontier, _, _) = await _client.PostAsync(target, PeerPaths.Frontier, Digest(),
                            WireJsonContext.Default.GossipDigest, WireJsonContext.Default.ShardFrontier, ct, TimeSpan.FromSeconds(2));
                        // Only a frontier of the shard as this node's view has it (a node on another view may name another shard so).
                        if (frontier.Shard == shard && frontier.Epoch == m.Epoch) _remote[shard] = frontier.Stable;
                        return;
                    }
                    catch (Exception) when (!ct.IsCancellationRequested) { }
                }
            }));
        }
    }

    public GossipDigest Digest()
    {
        var (fenceEpoch, reports) = _fence.Reported;
        return new GossipDigest
        {
            From = _cluster.NodeId,
        Epoch = _cluster.Current.Epoch,
        Origin = _store.Origin,
        Applied = _store.AppliedSnapshot(),
            Foreign = ForeignSnapshot(),
            // A peer new to this shard catches up only from a replica that holds everything: not one still catching up or fenced.
            CatchingUp = _caughtUp && !_fence.AnyPending ? null : true,
            FenceEpoch = fenceEpoch,
            HandoffReports = reports.Count == 0 ? null : reports.Select(r => WireHandoffReport.From(r.Report, r.Epoch == fenceEpoch ? null : r.Epoch)).ToList(),
        };
    }

    private Frontier? ForeignSnapshot()
    {
        lock (_gate) return _stability.ForeignSnapshot();
    }

    private void OnPeerDigest(GossipDigest digest)
    {
        // A foreign frontier says what every replica of the sender's shard holds: only one of this shard, on this view, tells it.
        if (digest.Epoch == _cluster.Current.Epoch && LinkTo(digest.From) is not null) LearnForeign(digest.Foreign);
        // A report heard here lifts nothing by itself: the fence waits until this replica holds the writes it names.
        foreach (var report in digest.HandoffReports ?? []) _fence.Complete(report.Epoch ?? digest.FenceEpoch, report.ToReport());
    }

    /// <summary>A peer's gossip: learn its frontier, push what it lacks, answer with ours.</summary>
    public GossipDigest OnGossip(GossipDigest digest)
    {
        var mine = Digest();
        var link = LinkTo(digest.From);
        if (link is null)
        {
            OnPeerDigest(digest);
            return mine;
        }
        // The link learns the peer's frontier and hands the digest back (OnPeerHeard), as for a digest it asked for.
        link.Learned(digest.Origin, digest.Applied, digest);
        if (!digest.Applied.Covers(mine.Applied)) link.Wake();
        return mine;
    }

    /// <summary>
    /// A peer's batch: merge its versions, take the writes its ranges (or the last page of a snapshot) name, learn
    /// its frontier, answer with ours.
    /// </summary>
    /// <exception cref="BehindViewException">the sender made the batch under a newer view than this node follows: the
    /// batch is refused whole, and the sender tries again once this node follows that view</exception>
    public ReplicationAck OnReplicate(ReplicationMessage message)
    {
        // Under its newer view the sender may have handed off keys this node still answers for under its own, and a
        // batch names the writes to such a key without its version (ReplicaStore.Diff). Taken here, they would raise
        // this node's frontier over writes it lacks for a key it serves, and the shard's stable frontier with it: the
        // session's dependency on such a write (a delete, say) is pruned, and this node answers the older version.
        var mine = _cluster.Current.Epoch;
        if (message.Epoch > mine)
        {
            _cluster.ObserveEpoch(message.Epoch);
            throw new BehindViewException(message.From, message.Epoch, mine);
        }
        var ranges = message.Ranges.Select(r => new IncomingRange(r.Origin, r.After, r.Keys)).ToList();
        var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
        var result = _store.Apply(ranges, versions, message.SnapshotApplied);
        if (versions.Count > 0) _cluster.Received(versions.Select(v => v.Key));
        var link = LinkTo(message.From);
        // The sender holds what its frontier named when it made the batch: with the batch applied here, the writes it
        // carried are held by both at once (stable, in a shard of two) and drop out of the metadata this node answers.
        if (link is not null && message.Origin != 0 && message.Applied is { } applied) link.Learned(message.Origin, applied, digest: null);
        else if (link is not null) RecomputeStable();
        return new ReplicationAck { Origin = _store.Origin, Applied = result.Applied };
    }

    private ReplicationMessage ToMessage(OutgoingBatch batch) => new()
    {
        From = _cluster.NodeId,
        Epoch = _cluster.Current.Epoch,
        Ranges = batch.Ranges.Select(r => new WireRange { Origin = r.Origin, After = r.After, Keys = r.Keys.ToList() }).ToList(),
        Versions = batch.Versions.Select(v => WireVersion.From(v.Key, v.Value)).ToList(),
        SnapshotApplied = batch.SnapshotApplied,
        Origin = _store.Origin,
        Applied = _store.AppliedSnapshot(),
    };

    private PeerLink? LinkTo(int nodeId)
    {
        lock (_gate) return _links.GetValueOrDefault(nodeId);
    }

    private long ReplicationLag()
    {
        var mine = _store.AppliedSnapshot();
        long worst = 0;
        foreach (var link in Links) worst = Math.Max(worst, mine.Beyond(link.KnownApplied));
        return worst;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _remoteLoop = PollAsync();
        return Task.CompletedTask;

        async Task PollAsync()
        {
            try { await PollRemoteFrontiersAsync(_stop.Token); }
            catch (OperationCanceledException) { }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_remoteLoop is not null) await _remoteLoop;
        PeerLink[] links;
        lock (_gate) { links = _links.Values.ToArray(); _links = []; }
        foreach (var link in links) await link.DisposeAsync();
    }
}
