using CausalKv.Causality;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Sharding;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// One node of the simulated cluster: the real <see cref="ReplicaStore"/> (with its write-ahead log in a directory
/// of its own) and, around it, the protocol of PeerLink, ReplicationCoordinator, Handoff, ViewChanger and
/// DataEndpoints reduced to message handlers. Replication pushes what a peer lacks by <see cref="ReplicaStore.Diff"/>
/// with one batch in flight per peer (or pages the whole state when the log no longer reaches back), gossip
/// exchanges frontiers, and a view change hands every key that left the shard to a replica of its new shard,
/// forgetting it only once acknowledged. A crash drops everything in memory; a restart recovers the store from its log.
/// </summary>
internal sealed class SimulatedNode(int id, string dataDirectory, SimulatedNetwork network, SimulationTrace trace, SimulatedClock clock)
{
    public SimulatedClock Clock => clock;

    /// <summary>Log entries per replication batch and keys per snapshot page or handoff chunk: small, so batches split.</summary>
    public const int BatchEntries = 6;
    public const long RequestTimeout = 150;
    public const long GossipInterval = 60;

    private readonly Dictionary<int, PeerState> _links = [];
    private readonly Dictionary<long, (string Shard, List<KeyValuePair<string, StoredVersion>> Sent)> _handoffs = [];
    private readonly HashSet<string> _handingOff = new(StringComparer.Ordinal);
    private long _highestEpochSeen;
    private int _generation;

    public int Id { get; } = id;

    public ReplicaStore? Store { get; private set; }

    public bool IsUp => Store is not null;

    public ShardView? View { get; private set; }

    public HashRing? Ring { get; private set; }

    public string? Shard => View?.ShardOf(Id);

    /// <summary>Handoffs sent and not yet acknowledged (or timed out).</summary>
    public int HandoffsInFlight => _handoffs.Count;

    private sealed class PeerState(ViewNode peer)
    {
        public ViewNode Peer { get; } = peer;
        public IReadOnlyDictionary<long, long> KnownApplied { get; set; } = new Dictionary<long, long>();
        public long PeerOrigin { get; set; }
        public long InFlight { get; set; }
        public bool InFlightEndsSnapshot { get; set; }
        public (string[] Keys, Dictionary<long, long> Applied, int Next)? Snapshot { get; set; }
    }

    /// <summary>Starts the process: recovers the store from its log, takes a new incarnation, follows <paramref name="view"/>.</summary>
    public void Start(ShardView? view)
    {
        Store = new ReplicaStore(clock, new WriteAheadLog(dataDirectory));
        var origin = Store.StartIncarnation(Id);
        _generation++;
        trace.Add(network.Now, $"node {Id} starts: {Store.Recovered} keys recovered, origin {Describe(origin)}");
        var generation = _generation;
        network.After(Id % (int)GossipInterval + 1, () => Tick(generation));
        if (view is not null) InstallView(view);
    }

    /// <summary>The process dies: whatever is not in the write-ahead log is gone.</summary>
    public void Crash()
    {
        if (Store is null) return;
        trace.Add(network.Now, $"node {Id} crashes");
        Store.Dispose();
        Store = null;
        View = null;
        Ring = null;
        _links.Clear();
        _handoffs.Clear();
        _handingOff.Clear();
        _highestEpochSeen = 0;
        _generation++;
    }

    public void Stop() => Store?.Dispose();

    private static string Describe(long origin) => $"{OriginId.NodeOf(origin)}.{OriginId.IncarnationOf(origin)}";

    // ---- view changes (ViewChanger) ----

    public void InstallView(ShardView proposed)
    {
        if (Store is null) return;
        var decision = ViewEpochDecision.Decide(View, View?.Epoch ?? 0, proposed, proposed.Epoch);
        if (decision.Verdict == ViewEpochVerdict.Stale) return;
        if (decision.Verdict == ViewEpochVerdict.Retry)
        {
            HandOffStrayKeys();
            return;
        }
        var view = decision.View;
        var plan = HandoffPlan.Create(View, view, Id);
        if (plan.ShardChanged && plan.NewShard is not null) Store.StartIncarnation(Id);
        View = view;
        Ring = plan.NewRing;
        _highestEpochSeen = Math.Max(_highestEpochSeen, view.Epoch);
        trace.Add(network.Now, $"node {Id} installs epoch {view.Epoch}: {plan.OldShard ?? "-"} -> {plan.NewShard ?? "-"}, origin {Describe(Store.Origin)}");
        var wanted = plan.NewShard is null ? [] : view.NodesOf(plan.NewShard).Where(n => n.Id != Id).ToList();
        foreach (var gone in _links.Keys.Where(p => wanted.All(w => w.Id != p)).ToList()) _links.Remove(gone);
        foreach (var peer in wanted)
            if (!_links.TryGetValue(peer.Id, out var link) || link.Peer != peer) _links[peer.Id] = new PeerState(peer);
        HandOffStrayKeys(plan.NewOwnerShardOf);
        WakeAll();
    }

    /// <summary>The shard that owns <paramref name="key"/> now, when it is not this node's (StrayKeySweeper's test).</summary>
    private string? StrayOwner(string key)
    {
        var owner = Ring!.ShardFor(key);
        return owner == Shard ? null : owner;
    }

    // ---- handoff (Handoff, InternalApi /internal/handoff) ----

    private void HandOffStrayKeys(Func<string, string?>? newOwner = null)
    {
        if (Store is null || View is null) return;
        newOwner ??= StrayOwner;
        var byShard = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var key in Store.All.Select(kv => kv.Key).Order(StringComparer.Ordinal))
        {
            if (newOwner(key) is not { } owner) continue;
            if (!byShard.TryGetValue(owner, out var list)) byShard[owner] = list = [];
            list.Add(key);
        }
        foreach (var (shard, keys) in byShard)
        {
            if (_handingOff.Contains(shard)) continue;
            var replicas = View.NodesOf(shard).Where(n => n.Id != Id).ToList();
            if (replicas.Count == 0) continue;
            var sent = new List<KeyValuePair<string, StoredVersion>>();
            foreach (var k in keys.Take(BatchEntries))
                if (Store.Get(k) is { } v) sent.Add(new(k, v));
            var message = new HandoffMessage
            {
                From = Id,
                FromShard = Shard ?? "",
                Epoch = View.Epoch,
                Versions = sent.Select(kv => WireVersion.From(kv.Key, kv.Value)).ToList(),
                Complete = sent.Count == keys.Count,
            };
            var request = network.NextRequestId();
            _handoffs[request] = (shard, sent);
            _handingOff.Add(shard);
            trace.Add(network.Now, $"node {Id} hands off [{string.Join(",", sent.Select(kv => kv.Key))}] to shard {shard} #{request}");
            foreach (var r in replicas) network.Send(new SimulatedMessage(Id, r.Id, request, message));
            var generation = _generation;
            network.After(RequestTimeout, () =>
            {
                if (generation != _generation || !_handoffs.Remove(request)) return;
                _handingOff.Remove(shard);
            });
        }
    }

    private void OnHandoff(SimulatedMessage m, HandoffMessage message)
    {
        _highestEpochSeen = Math.Max(_highestEpochSeen, message.Epoch);
        var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
        Store!.Import(versions);
        trace.Add(network.Now, $"node {Id} imports [{string.Join(",", versions.Select(kv => kv.Key))}] from node {m.From} #{m.Request}");
        Reply(m, new HandoffAck { Node = Id, Epoch = View?.Epoch ?? 0, Imported = versions.Count });
        if (versions.Count > 0) WakeAll();
    }

    private void OnHandoffAck(SimulatedMessage m)
    {
        if (!_handoffs.Remove(m.Request, out var handoff)) return;
        _handingOff.Remove(handoff.Shard);
        var removed = Store!.RemoveIfUnchanged(handoff.Sent);
        trace.Add(network.Now, $"node {Id} handoff #{m.Request} acknowledged by node {m.From}: {removed} of {handoff.Sent.Count} keys removed");
        HandOffStrayKeys();
    }

    // ---- replication and gossip (PeerLink, ReplicationCoordinator) ----

    private void Tick(int generation)
    {
        if (generation != _generation || Store is null) return;
        foreach (var link in _links.Values.OrderBy(l => l.Peer.Id))
            network.Send(new SimulatedMessage(Id, link.Peer.Id, network.NextRequestId(), Digest()));
        if (View is not null && _highestEpochSeen <= View.Epoch) HandOffStrayKeys();
        network.After(GossipInterval, () => Tick(generation));
    }

    private GossipDigest Digest() => new()
    {
        From = Id,
        Epoch = View?.Epoch ?? 0,
        Origin = Store!.Origin,
        Applied = Store.AppliedSnapshot(),
    };

    private void WakeAll()
    {
        foreach (var link in _links.Values.OrderBy(l => l.Peer.Id)) Push(link);
    }

    /// <summary>PeerLink.Learned: a new origin means the peer restarted and its frontier may have shrunk.</summary>
    private void Learned(PeerState link, long peerOrigin, IReadOnlyDictionary<long, long> peerApplied)
    {
        if (peerOrigin != link.PeerOrigin)
        {
            link.PeerOrigin = peerOrigin;
            link.KnownApplied = peerApplied;
        }
        else
        {
            var joined = new Dictionary<long, long>(link.KnownApplied);
            StableFrontier.JoinInto(joined, peerApplied);
            link.KnownApplied = joined;
        }
        var frontiers = new List<IReadOnlyDictionary<long, long>> { Store!.AppliedSnapshot() };
        frontiers.AddRange(_links.Values.Select(l => l.KnownApplied));
        Store.TrimLogs(StableFrontier.Minimum(frontiers));
    }

    private void Push(PeerState link)
    {
        if (Store is null || link.InFlight != 0) return;
        var message = NextMessage(link);
        if (message is null) return;
        var request = network.NextRequestId();
        link.InFlight = request;
        link.InFlightEndsSnapshot = message.SnapshotApplied is not null;
        network.Send(new SimulatedMessage(Id, link.Peer.Id, request, message));
        var generation = _generation;
        network.After(RequestTimeout, () =>
        {
            if (generation != _generation || link.InFlight != request) return;
            link.InFlight = 0;
            link.Snapshot = null;
        });
    }

    private ReplicationMessage? NextMessage(PeerState link)
    {
        var store = Store!;
        if (link.Snapshot is null)
        {
            var diff = store.Diff(link.KnownApplied, BatchEntries);
            if (diff is null) return null;
            if (!diff.NeedsSnapshot) return ToMessage(diff);
            var (keys, applied) = store.BeginSnapshot();
            Array.Sort(keys, StringComparer.Ordinal);
            link.Snapshot = (keys, applied, 0);
        }
        var (all, frontier, next) = link.Snapshot.Value;
        var versions = new List<KeyValuePair<string, StoredVersion>>();
        while (next < all.Length && versions.Count < BatchEntries)
        {
            var key = all[next++];
            if (store.Get(key) is { } v) versions.Add(new(key, v));
        }
        link.Snapshot = (all, frontier, next);
        return ToMessage(new OutgoingBatch([], versions, next >= all.Length ? frontier : null, false));
    }

    private ReplicationMessage ToMessage(OutgoingBatch batch) => new()
    {
        From = Id,
        Epoch = View?.Epoch ?? 0,
        Ranges = batch.Ranges.Select(r => new WireRange { Origin = r.Origin, After = r.After, Keys = r.Keys.ToList() }).ToList(),
        Versions = batch.Versions.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => WireVersion.From(v.Key, v.Value)).ToList(),
        SnapshotApplied = batch.SnapshotApplied?.ToDictionary(),
    };

    public void Receive(SimulatedMessage m)
    {
        if (Store is null) return;
        switch (m.Body)
        {
            case GossipDigest digest when !m.IsReply:
                {
                    _highestEpochSeen = Math.Max(_highestEpochSeen, digest.Epoch);
                    var mine = Digest();
                    if (_links.TryGetValue(digest.From, out var link))
                    {
                        Learned(link, digest.Origin, digest.Applied);
                        if (!Covers(digest.Applied, mine.Applied)) Push(link);
                    }
                    Reply(m, mine);
                    break;
                }
            case GossipDigest theirs:
                if (_links.TryGetValue(m.From, out var asked))
                {
                    Learned(asked, theirs.Origin, theirs.Applied);
                    Push(asked);
                }
                break;
            case ReplicationMessage batch:
                {
                    var ranges = batch.Ranges.Select(r => new IncomingRange(r.Origin, r.After, r.Keys)).ToList();
                    var versions = batch.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
                    var result = Store.Apply(ranges, versions, batch.SnapshotApplied);
                    if (result.ChangedKeys > 0 || batch.SnapshotApplied is not null)
                        trace.Add(network.Now, $"node {Id} applies from node {batch.From}: {result.ChangedKeys} keys changed, {result.Gaps} gaps" +
                            (batch.SnapshotApplied is not null ? ", snapshot end" : ""));
                    Reply(m, new ReplicationAck { Origin = Store.Origin, Applied = result.Applied });
                    break;
                }
            case ReplicationAck ack:
                if (_links.TryGetValue(m.From, out var pushed) && pushed.InFlight == m.Request)
                {
                    pushed.InFlight = 0;
                    if (pushed.InFlightEndsSnapshot) pushed.Snapshot = null;
                    Learned(pushed, ack.Origin, ack.Applied);
                    Push(pushed);
                }
                break;
            case HandoffMessage handoff:
                OnHandoff(m, handoff);
                break;
            case HandoffAck:
                OnHandoffAck(m);
                break;
        }
    }

    private void Reply(SimulatedMessage request, object body) =>
        network.Send(new SimulatedMessage(Id, request.From, request.Request, body) { IsReply = true });

    private static bool Covers(IReadOnlyDictionary<long, long> a, IReadOnlyDictionary<long, long> b)
    {
        foreach (var (o, s) in b)
            if (a.GetValueOrDefault(o) < s) return false;
        return true;
    }

    // ---- the data API (DataEndpoints) ----

    /// <summary>True when this node is up, follows a view and owns <paramref name="key"/> under it (else it would forward).</summary>
    public bool Serves(string key) => Store is not null && Ring is not null && Shard is not null && Ring.ShardFor(key) == Shard;

    /// <summary>
    /// A read: null while the session depends on a write to the key this replica lacks and that could change the
    /// answer (<see cref="CausalRead.Missing"/>), else the version to answer with (null: the key does not exist).
    /// </summary>
    public bool TryRead(string key, DependencySet session, out StoredVersion? version, out Dependency? missing)
    {
        version = Store!.Get(key);
        missing = CausalRead.Missing(key, session, version);
        return missing is null;
    }

    /// <summary>A PUT (or DELETE with a null value); null when a delete finds nothing to delete (a 404).</summary>
    public StoredVersion? Write(string key, string? value, DependencySet session)
    {
        var store = Store!;
        var previous = store.Get(key);
        if (value is null && (previous is null || previous.IsDeleted) && session[key] is null) return null;
        var stored = store.Write(key, value, session, Id);
        WakeAll();
        return stored;
    }
}
