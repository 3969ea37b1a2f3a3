using CausalKv.Causality;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Sharding;
using CausalKv.Storage;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// One node of the simulated cluster: the real <see cref="ReplicaStore"/> (on a table that keeps its commits across crashes, and its
/// membership file in a directory of its own) and, around it, the protocol of PeerLink, ReplicationCoordinator, Handoff, ViewChanger and
/// DataEndpoints reduced to message handlers. Replication pushes what a peer lacks by <see cref="ReplicaStore.Diff"/>
/// with one batch in flight per peer (or pages the versions the peer lacks from the store when the log, kept small here
/// so that it sheds, no longer reaches back), pauses before pushing again to a peer that did not answer, gossip
/// exchanges frontiers, and a view change hands every key that left the shard to a replica of its new shard,
/// forgetting it only once acknowledged. A crash drops everything in memory; a restart recovers the store from its log
/// and its view, fence and catch-up from its <see cref="MembershipFile"/>, as the node does.
/// </summary>
internal sealed class SimulatedNode(int id, string dataDirectory, SimulatedNetwork network, SimulationTrace trace, SimulatedClock clock, bool prunesMetadata)
{
    public SimulatedClock Clock => clock;

    /// <summary>Log entries per replication batch and keys per snapshot page or handoff chunk: small, so batches split.</summary>
    public const int BatchEntries = 6;
    public const long RequestTimeout = 150;
    public const long GossipInterval = 60;
    /// <summary>
    /// What the replication log may take (ReplicaStore.LogBytesLimit): about 14 writes of short keys, so that a peer cut
    /// off or down for a while falls below the log and is caught up by a scan of the store.
    /// </summary>
    public const long LogBytesLimit = 512;
    /// <summary>The pauses after a push a peer did not answer (the node: 100 ms doubling to 5 s, with 250 ms gossip).</summary>
    private static RetryBackoff NewBackoff() => new(TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(1200));
    /// <summary>How often a node asks a replica of every other shard for its frontier (the node: every second, four gossip intervals).</summary>
    public const long FrontierPollInterval = 240;
    /// <summary>How long a handoff that must arrive is retried before its keys wait for the next attempt.</summary>
    public const long HandoffDeadline = 2000;
    public const long HandoffRetryDelay = 50;
    /// <summary>The sweeper's pauses before it runs a handoff a view change still owes (the node: 4 s, doubling to a minute).</summary>
    private const long OwedFirstPause = 4 * GossipInterval;
    private const long OwedPauseLimit = HandoffDeadline;

    private readonly MembershipFile _membership = new(dataDirectory);
    private readonly Dictionary<int, PeerState> _links = [];
    private readonly Dictionary<string, HandoffJob> _handoffs = new(StringComparer.Ordinal);
    /// <summary>Bare "done" reports (no keys, no writes to name) not acknowledged yet: Handoff's AnnouncementRelay.</summary>
    private readonly List<HandoffJob> _announcements = [];
    private readonly Dictionary<long, string> _frontierQueries = [];
    private readonly Dictionary<string, IReadOnlyDictionary<long, long>> _remote = new(StringComparer.Ordinal);
    private ShardStability _stability = new();
    private IReadOnlyDictionary<long, long> _effective = new Dictionary<long, long>();
    private HandoffFenceState _fence = HandoffFenceState.None;
    private bool _caughtUp = true;
    private IReadOnlySet<int> _catchUpFrom = new HashSet<int>();
    private HandoffPlan? _installed;
    private Dictionary<long, long>? _installedSource;
    private long _owedEpoch = -1;
    private long _owedAt;
    private long _owedPause;
    private long _highestEpochSeen;
    private int _generation;
    private int _rotation;

    public int Id { get; } = id;

    public ReplicaStore? Store { get; private set; }

    /// <summary>
    /// What the node's storage engine keeps across crashes: every commit, as a durable table promises (a crash in the
    /// simulation falls between handlers, never inside a commit). The engine itself is tested on its own.
    /// </summary>
    private readonly MemoryVersionTable _disk = new();

    public bool IsUp => Store is not null;

    /// <summary>Log entries this node's stores dropped over their bound, in every life of the node so far.</summary>
    public long LogEntriesShed => _shedBefore + (Store?.LogEntriesShed ?? 0);
    private long _shedBefore;

    /// <summary>Peers caught up by a scan of the store since the simulation began.</summary>
    public int Scans { get; private set; }

    public ShardView? View { get; private set; }

    public HashRing? Ring { get; private set; }

    public string? Shard => View?.ShardOf(Id);

    /// <summary>Handoffs sent and not yet acknowledged (or timed out).</summary>
    public int HandoffsInFlight => _handoffs.Count;

    /// <summary>False while this replica, new to its shard, has not covered any peer's frontier (ReplicationCoordinator.CaughtUp).</summary>
    public bool CaughtUp => _caughtUp;

    /// <summary>
    /// One handoff to one shard in progress (Handoff.HandOffToShardAsync): chunks of keys sent to every replica of
    /// the shard at once; a chunk is done when every replica answered or the request timed out, and succeeds when at
    /// least one acknowledged; the acknowledged imports join what the "done" requires.
    /// </summary>
    private sealed class HandoffJob(string shard, List<string> keys, string fromShard, long epoch, List<ViewNode> replicas,
        Dictionary<long, long>? sourceStable, Dictionary<long, long> requires, bool complete, long started)
    {
        public string Shard { get; } = shard;
        public List<string> Keys { get; } = keys;
        public string FromShard { get; } = fromShard;
        public long Epoch { get; } = epoch;
        public List<ViewNode> Replicas { get; } = replicas;
        public Dictionary<long, long>? SourceStable { get; } = sourceStable;
        public Dictionary<long, long> Requires { get; } = requires;
        public bool Complete { get; } = complete;
        public bool MustArrive { get; } = keys.Count > 0 || requires.Count > 0;
        public bool IsBareReport { get; } = complete && keys.Count == 0 && requires.Count == 0;
        public long Started { get; } = started;
        public int Next { get; set; }
        public int Moved { get; set; }
        public long Request { get; set; }
        public List<KeyValuePair<string, StoredVersion>> Sent { get; set; } = [];
        public HandoffMessage? Message { get; set; }
        public HashSet<int> Outstanding { get; } = [];
        public List<HandoffAck> Acks { get; } = [];
    }

    /// <summary>A question to a replica of another shard for its shard's frontier (POST /internal/frontier).</summary>
    internal sealed record FrontierQuery(int From);

    private sealed class PeerState(ViewNode peer)
    {
        public ViewNode Peer { get; } = peer;
        public IReadOnlyDictionary<long, long> KnownApplied { get; set; } = new Dictionary<long, long>();
        public long PeerOrigin { get; set; }
        public long InFlight { get; set; }
        public bool InFlightEndsSnapshot { get; set; }
        public (string[] Keys, Dictionary<long, long> Applied, int Next)? Snapshot { get; set; }
        public RetryBackoff Backoff { get; } = NewBackoff();
        /// <summary>While a push went unanswered: when the pause after it ends (0: not pausing).</summary>
        public long PausedUntil { get; set; }
    }

    /// <summary>Starts the process: recovers the store from its log, takes a new incarnation, follows <paramref name="view"/>.</summary>
    public void Start(ShardView? view)
    {
        Store = new ReplicaStore(clock, _disk, LogBytesLimit);
        var origin = Store.StartIncarnation(Id);
        _generation++;
        Store.LocalWrite += OnLocalWrite;
        trace.Add(network.Now, $"node {Id} starts: {Store.Recovered} keys recovered, origin {Describe(origin)}");
        var generation = _generation;
        network.After(Id % (int)GossipInterval + 1, () => Tick(generation));
        network.After(Id * 7 % (int)FrontierPollInterval + 1, () => PollRemoteFrontiers(generation));
        Resume(_membership.Load());
        if (view is not null) InstallView(view);
    }

    /// <summary>ViewChanger.Resume: the view, fence and catch-up the node had when it stopped.</summary>
    private void Resume(MembershipRecord record)
    {
        if (record.View is null) return;
        View = record.View;
        Ring = View.CreateRing();
        _highestEpochSeen = View.Epoch;
        _fence = record.Fence;
        _catchUpFrom = record.CatchUpFrom;
        _caughtUp = _catchUpFrom.Count == 0;
        if (record.Handoff is { } owed)
        {
            _installed = owed.Plan(View, Id);
            _installedSource = owed.SourceStable is null ? null : new Dictionary<long, long>(owed.SourceStable);
        }
        if (Shard is { } shard)
            foreach (var peer in View.NodesOf(shard).Where(n => n.Id != Id)) _links[peer.Id] = new PeerState(peer);
        RecomputeStable();
        trace.Add(network.Now, $"node {Id} resumes epoch {View.Epoch} in {Shard ?? "-"}" +
            (_fence.AnyPending ? $", fenced from [{string.Join(",", _fence.PendingShards)}]" : "") + (_caughtUp ? "" : ", catching up"));
    }

    /// <summary>HandoffFence: every change but a lift is written down.</summary>
    private void SetFence(HandoffFenceState next)
    {
        if (ReferenceEquals(next, _fence)) return;
        _fence = next;
        _membership.SaveFence(next);
    }

    /// <summary>The process dies: whatever is not in its store (every commit, see <see cref="_disk"/>) or its membership file is gone.</summary>
    public void Crash()
    {
        if (Store is null) return;
        trace.Add(network.Now, $"node {Id} crashes");
        _shedBefore += Store.LogEntriesShed;
        Store.Dispose();
        Store = null;
        View = null;
        Ring = null;
        _links.Clear();
        _handoffs.Clear();
        _announcements.Clear();
        _frontierQueries.Clear();
        _remote.Clear();
        _stability = new ShardStability();
        _effective = new Dictionary<long, long>();
        _fence = HandoffFenceState.None;
        _caughtUp = true;
        _installed = null;
        _installedSource = null;
        _owedEpoch = -1;
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
            // The same view again: finish any handoff still owed, announcing it again.
            if (_installed is { } p && p.NewView.Epoch == View!.Epoch) HandOff(p, announce: true, _installedSource);
            else HandOff(HandoffPlan.Unchanged(View!, Id), announce: true, sourceStable: null);
            return;
        }
        var view = decision.View;
        var catchingUp = _caughtUp ? new HashSet<int>() : _catchUpFrom;
        var plan = HandoffPlan.Create(View, view, Id, catchingUp);
        // What every replica of the shard the keys leave holds, taken before this node leaves it (ViewChanger).
        var sourceStable = SourceStable();
        if (plan.ShardChanged && plan.NewShard is not null) Store.StartIncarnation(Id);
        if (Ring is not null) SetFence(_fence.Begin(view.Epoch, Ring, plan.FenceSources, plan.NewShard));
        View = view;
        Ring = plan.NewRing;
        _installed = plan;
        _installedSource = sourceStable;
        _highestEpochSeen = Math.Max(_highestEpochSeen, view.Epoch);
        var wanted = plan.NewShard is null ? [] : view.NodesOf(plan.NewShard).Where(n => n.Id != Id).ToList();
        foreach (var gone in _links.Keys.Where(p => wanted.All(w => w.Id != p)).ToList()) _links.Remove(gone);
        foreach (var peer in wanted)
            if (!_links.TryGetValue(peer.Id, out var link) || link.Peer != peer) _links[peer.Id] = new PeerState(peer);
        RecomputeStable();
        if (plan.NewShard is not null && (plan.ShardChanged || catchingUp.Count > 0))
        {
            _catchUpFrom = plan.CatchUpFrom;
            _caughtUp = _catchUpFrom.Count == 0;
        }
        _membership.SaveView(view, _fence, _caughtUp ? new HashSet<int>() : _catchUpFrom, OwedHandoff.For(plan, catchingUp, sourceStable));
        trace.Add(network.Now, $"node {Id} installs epoch {view.Epoch}: {plan.OldShard ?? "-"} -> {plan.NewShard ?? "-"}, origin {Describe(Store.Origin)}" +
            (_fence.AnyPending ? $", fenced from [{string.Join(",", _fence.PendingShards)}]" : "") + (_caughtUp ? "" : ", catching up"));
        HandOff(plan, announce: true, sourceStable);
        WakeAll();
    }

    /// <summary>ReplicationCoordinator.SourceStable: what a handoff may promise its receivers every replica here held.</summary>
    private Dictionary<long, long> SourceStable() => new(_caughtUp ? _effective : _stability.Stable);

    // ---- handoff (Handoff, InternalApi /internal/handoff, StrayKeySweeper) ----

    /// <summary>
    /// Handoff.HandOffStrayKeysAsync: keys the plan hands off go to their new shard; after a view change keys this
    /// node adopts (it moved into the shard that owns them) are imported as its own writes, and every shard of
    /// <see cref="HandoffPlan.AnnounceTo"/> hears "done" with the writes the keys became. A shard with a handoff
    /// still in progress is left to it, unless this one announces (a view change replaces the handoff in progress).
    /// </summary>
    /// <param name="sourceStable">the stable frontier of the shard the keys leave, as this node knew it when it was in
    /// it (null when it cannot tell: receivers then learn nothing from the handoff about stability)</param>
    private void HandOff(HandoffPlan plan, bool announce, Dictionary<long, long>? sourceStable)
    {
        if (Store is null) return;
        var epoch = plan.NewView.Epoch;
        var fromShard = plan.OldShard ?? plan.NewShard ?? "";
        var byShard = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        var adopted = new List<KeyValuePair<string, StoredVersion>>();
        foreach (var (key, version) in Store.All.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var disposition = plan.DispositionOf(key);
            if (disposition.Move == KeyMove.Adopt && announce) adopted.Add(new(key, version));
            if (disposition.Move != KeyMove.HandOff) continue;
            if (!byShard.TryGetValue(disposition.TargetShard!, out var list)) byShard[disposition.TargetShard!] = list = [];
            list.Add(key);
        }
        var announcing = announce && plan.OldShard is not null;
        // A run after a restart tells only the shards still owed (OwedHandoff), naming what the first run adopted.
        var owed = announcing ? _membership.OwedFor(epoch) : null;
        var adoptedAs = owed?.AdoptedAs is { } imported ? new Dictionary<long, long>(imported) : [];
        if (adopted.Count > 0 && owed?.AdoptedAs is null)
        {
            var (origin, last) = Store.Import(adopted);
            RecordImport(new Dictionary<long, long> { [origin] = last }, sourceStable);
            adoptedAs[origin] = last;
            _membership.SaveAdopted(epoch, adoptedAs);
            trace.Add(network.Now, $"node {Id} adopts [{string.Join(",", adopted.Select(kv => kv.Key))}] as {Describe(origin)}:{last}");
        }
        var reportTo = announcing ? (owed?.Owed ?? plan.AnnounceTo.ToHashSet(StringComparer.Ordinal)) : new HashSet<string>();
        var targets = reportTo.Union(byShard.Keys).Order(StringComparer.Ordinal).ToList();
        if (announcing && plan.ShardChanged && plan.NewShard is not null) SetFence(_fence.Report(epoch, new HandoffReport(fromShard, Id, adoptedAs, plan.NewShard)));
        foreach (var shard in targets)
        {
            if (!announcing && _handoffs.ContainsKey(shard)) continue;
            var replicas = plan.NewView.NodesOf(shard).Where(n => n.Id != Id).ToList();
            if (replicas.Count == 0)
            {
                if (reportTo.Contains(shard)) _membership.SaveReported(epoch, shard);
                continue;
            }
            var job = new HandoffJob(shard, byShard.GetValueOrDefault(shard) ?? [], fromShard, epoch, replicas, sourceStable,
                shard == plan.NewShard ? new Dictionary<long, long>(adoptedAs) : [], reportTo.Contains(shard), network.Now);
            // A bare "done" goes its own way, retried until a replica takes it: nothing may replace it, since the
            // receivers' fence for this epoch waits for exactly this report.
            if (job.IsBareReport) _announcements.Add(job);
            else _handoffs[shard] = job;
            SendChunk(job);
        }
    }

    private bool OwnsNow(string key) => Ring is not null && Shard is not null && Ring.ShardFor(key) == Shard;

    private void SendChunk(HandoffJob job)
    {
        var store = Store!;
        var sent = new List<KeyValuePair<string, StoredVersion>>();
        while (job.Next < job.Keys.Count && sent.Count < BatchEntries)
        {
            var k = job.Keys[job.Next++];
            // A later view may have given the key back to this node's shard while the handoff went on.
            if (!OwnsNow(k) && store.Get(k) is { } v) sent.Add(new(k, v));
        }
        var message = new HandoffMessage
        {
            From = Id,
            FromShard = job.FromShard,
            Epoch = job.Epoch,
            Versions = sent.Select(kv => WireVersion.From(kv.Key, kv.Value)).ToList(),
            Complete = job.Complete && job.Next >= job.Keys.Count,
            ToShard = job.Shard,
            SourceStable = job.SourceStable,
            Requires = job.Requires.Count == 0 ? null : new Dictionary<long, long>(job.Requires),
        };
        job.Sent = sent;
        job.Message = message;
        Attempt(job);
    }

    private void Attempt(HandoffJob job)
    {
        var message = job.Message!;
        var request = network.NextRequestId();
        job.Request = request;
        job.Outstanding.Clear();
        job.Acks.Clear();
        foreach (var r in job.Replicas) job.Outstanding.Add(r.Id);
        trace.Add(network.Now, $"node {Id} hands off [{string.Join(",", job.Sent.Select(kv => kv.Key))}] to shard {job.Shard}" +
            (message.Complete ? " (done)" : "") + $" #{request}");
        foreach (var r in job.Replicas) network.Send(new SimulatedMessage(Id, r.Id, request, message));
        var generation = _generation;
        network.After(RequestTimeout * 2, () =>
        {
            if (generation != _generation || !IsLive(job) || job.Request != request) return;
            ChunkAnswered(job);
        });
    }

    private bool IsLive(HandoffJob job) => job.IsBareReport ? _announcements.Contains(job) : _handoffs.TryGetValue(job.Shard, out var current) && current == job;

    /// <summary>Every replica answered or the chunk timed out: on to the next chunk, retry, or give up.</summary>
    private void ChunkAnswered(HandoffJob job)
    {
        job.Request = 0;
        if (job.IsBareReport)
        {
            if (job.Acks.Count > 0)
            {
                _announcements.Remove(job);
                _membership.SaveReported(job.Epoch, job.Shard);
                return;
            }
            var again = _generation;
            network.After(HandoffRetryDelay, () =>
            {
                if (again == _generation && IsLive(job)) Attempt(job);
            });
            return;
        }
        if (job.Acks.Count == 0)
        {
            if (!job.MustArrive || network.Now - job.Started > HandoffDeadline)
            {
                _handoffs.Remove(job.Shard);
                if (job.MustArrive) trace.Add(network.Now, $"node {Id} gives up its handoff to shard {job.Shard}: keys stay here");
                return;
            }
            var generation = _generation;
            network.After(HandoffRetryDelay, () =>
            {
                if (generation != _generation || !_handoffs.TryGetValue(job.Shard, out var current) || current != job) return;
                Attempt(job);
            });
            return;
        }
        foreach (var ack in job.Acks)
            if (ack.Imported > 0) StableFrontier.JoinInto(job.Requires, new Dictionary<long, long> { [ack.Origin] = ack.Last });
        var removed = Store!.RemoveIfUnchanged(job.Sent.Where(kv => !OwnsNow(kv.Key)));
        job.Moved += job.Sent.Count;
        if (job.Message!.Complete) _membership.SaveReported(job.Epoch, job.Shard);
        trace.Add(network.Now, $"node {Id} handoff to shard {job.Shard} acknowledged by [{string.Join(",", job.Acks.Select(a => a.Node))}]: {removed} of {job.Sent.Count} keys removed");
        if (job.Next < job.Keys.Count) SendChunk(job);
        else _handoffs.Remove(job.Shard);
    }

    /// <summary>POST /internal/handoff.</summary>
    private void OnHandoff(SimulatedMessage m, HandoffMessage message)
    {
        _highestEpochSeen = Math.Max(_highestEpochSeen, message.Epoch);
        var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
        var (origin, last) = versions.Count > 0 ? Store!.Import(versions) : (0, 0);
        if (message.Complete)
        {
            var requires = new Dictionary<long, long>(message.Requires ?? []);
            if (versions.Count > 0) StableFrontier.JoinInto(requires, new Dictionary<long, long> { [origin] = last });
            // Only a whole handoff says what the moved keys carry (a part says nothing of the keys still to come).
            RecordImport(requires, message.SourceStable);
            SetFence(_fence.Report(message.Epoch, new HandoffReport(message.FromShard, message.From, requires, message.ToShard ?? Shard)));
        }
        if (versions.Count > 0 || message.Complete)
            trace.Add(network.Now, $"node {Id} imports [{string.Join(",", versions.Select(kv => kv.Key))}] from node {m.From} #{m.Request}" +
                (versions.Count > 0 ? $" as {Describe(origin)}:{last}" : "") + (message.Complete ? $", {message.FromShard} done" : ""));
        Reply(m, new HandoffAck { Node = Id, Epoch = View?.Epoch ?? 0, Imported = versions.Count, Origin = origin, Last = last });
    }

    private void OnHandoffAck(SimulatedMessage m, HandoffAck ack)
    {
        var job = _handoffs.Values.Concat(_announcements).FirstOrDefault(j => j.Request == m.Request);
        if (job is null || !job.Outstanding.Remove(m.From)) return;
        job.Acks.Add(ack);
        if (job.Outstanding.Count > 0) return;
        ChunkAnswered(job);
    }

    // ---- the stable frontier (ReplicationCoordinator) ----

    /// <summary>ReplicationCoordinator.RecordImport.</summary>
    private void RecordImport(IReadOnlyDictionary<long, long> requires, Dictionary<long, long>? sourceStable)
    {
        if (sourceStable is null || sourceStable.Count == 0) return;
        _stability.RecordImport(requires, sourceStable);
        RecomputeStable();
    }

    /// <summary>ReplicationCoordinator.RecomputeStable: the core's <see cref="ShardStability"/> fed with the replicas' frontiers.</summary>
    private void RecomputeStable()
    {
        var frontiers = new List<IReadOnlyDictionary<long, long>> { Store!.AppliedSnapshot() };
        frontiers.AddRange(_links.Values.OrderBy(l => l.Peer.Id).Select(l => l.KnownApplied));
        _stability.Recompute(frontiers);
        _effective = _stability.Effective;
        Store.TrimLogs(_stability.Stable);
    }

    private void LearnForeign(IReadOnlyDictionary<long, long>? foreign)
    {
        if (_stability.LearnForeign(foreign)) RecomputeStable();
    }

    /// <summary>ReplicationCoordinator.OnPeerDigest: completed handoffs and fence reports heard in gossip.</summary>
    private void OnPeerDigest(GossipDigest digest)
    {
        LearnForeign(digest.Foreign);
        foreach (var report in digest.HandoffReports ?? []) SetFence(_fence.Report(report.Epoch ?? digest.FenceEpoch, report.ToReport()));
    }

    /// <summary>ReplicationCoordinator.IsStable: judged by the frontier of the shard that owns the key under this node's view.</summary>
    public bool IsStable(string key, Dependency dependency)
    {
        if (Ring is null || View is null) return false;
        var shard = Ring.ShardFor(key);
        if (shard == Shard) return dependency.Clock.IsCoveredBy(_effective);
        return _remote.TryGetValue(shard, out var frontier) && dependency.Clock.IsCoveredBy(frontier);
    }

    /// <summary>ReplicationCoordinator.PollRemoteFrontiersAsync: ask one replica of every other shard, in rotation.</summary>
    private void PollRemoteFrontiers(int generation)
    {
        if (generation != _generation || Store is null) return;
        network.After(FrontierPollInterval, () => PollRemoteFrontiers(generation));
        if (View is null) return;
        foreach (var stale in _remote.Keys.Where(k => !View.Shards.ContainsKey(k) || k == Shard).ToList()) _remote.Remove(stale);
        _rotation++;
        foreach (var shard in View.ShardNames.Where(s => s != Shard).Order(StringComparer.Ordinal))
        {
            var replicas = View.NodesOf(shard);
            var target = replicas[_rotation % replicas.Count];
            var request = network.NextRequestId();
            _frontierQueries[request] = shard;
            network.Send(new SimulatedMessage(Id, target.Id, request, new FrontierQuery(Id)));
            network.After(RequestTimeout, () => { if (generation == _generation) _frontierQueries.Remove(request); });
        }
    }

    /// <summary>ReplicationCoordinator.Frontier.</summary>
    private ShardFrontier Frontier() => new()
    {
        Shard = Shard,
        Epoch = View?.Epoch ?? 0,
        Stable = new Dictionary<long, long>(_effective),
    };

    private void OnLocalWrite()
    {
        if (_links.Count == 0) RecomputeStable();
        else WakeAll();
    }

    /// <summary>The fence's pending layers, for a violation message: epoch, old shard, nodes yet to report, writes still lacked.</summary>
    public string DescribeFence()
    {
        var applied = Store!.AppliedSnapshot();
        return string.Join("; ", _fence.Layers.SelectMany(l => l.Pending.Select(p =>
            $"epoch {l.Epoch} from {p.Shard}: waits for nodes [{string.Join(",", p.Outstanding.Order())}], lacks " +
            string.Join(",", p.Requires.Where(r => applied.GetValueOrDefault(r.Key) < r.Value).Select(r => $"{Describe(r.Key)}:{applied.GetValueOrDefault(r.Key)}<{r.Value}")))));
    }

    /// <summary>HandoffFence.AnyPending: some old shard not lifted by the writes this replica now holds.</summary>
    public bool FenceAnyPending()
    {
        if (_fence.AwaitsWrites) _fence = _fence.Lift(Store!.AppliedSnapshot());
        return _fence.AnyPending;
    }

    /// <summary>HandoffFence.IsPending: fenced, and not lifted by the writes this replica now holds.</summary>
    private bool FencePending(string key)
    {
        if (!_fence.IsPending(key)) return false;
        if (_fence.AwaitsWrites) _fence = _fence.Lift(Store!.AppliedSnapshot());
        return _fence.IsPending(key);
    }

    // ---- replication and gossip (PeerLink, ReplicationCoordinator) ----

    private void Tick(int generation)
    {
        if (generation != _generation || Store is null) return;
        foreach (var link in _links.Values.OrderBy(l => l.Peer.Id))
            network.Send(new SimulatedMessage(Id, link.Peer.Id, network.NextRequestId(), Digest()));
        // StrayKeySweeper: the handoff a view change still owes, then keys this node holds but does not own go to their
        // shard, without a "done" (a node whose view is behind waits).
        if (View is not null && _highestEpochSeen <= View.Epoch) FinishOwed();
        if (View is not null && _highestEpochSeen <= View.Epoch && Store.All.Any(kv => Ring!.ShardFor(kv.Key) != Shard))
            HandOff(HandoffPlan.Unchanged(View, Id), announce: false, sourceStable: null);
        network.After(GossipInterval, () => Tick(generation));
    }

    /// <summary>StrayKeySweeper.FinishOwedAsync: the installed view's handoff again while it owes a shard its "done" and none is on its way, after growing pauses.</summary>
    private void FinishOwed()
    {
        if (_installed is not { } plan || plan.NewView.Epoch != View!.Epoch || _membership.OwedFor(plan.NewView.Epoch) is not { } owed) return;
        if (_owedEpoch != plan.NewView.Epoch)
        {
            (_owedEpoch, _owedAt, _owedPause) = (plan.NewView.Epoch, network.Now, OwedFirstPause);
            return;
        }
        if (network.Now - _owedAt < _owedPause) return;
        // A handoff or a report already on its way is left to finish (a run now would replace it).
        if (_handoffs.Values.Concat(_announcements).Any(j => j.Epoch == plan.NewView.Epoch && owed.Owed.Contains(j.Shard))) return;
        _owedAt = network.Now;
        _owedPause = Math.Min(_owedPause * 2, OwedPauseLimit);
        trace.Add(network.Now, $"node {Id} runs the handoff epoch {plan.NewView.Epoch} still owes [{string.Join(",", owed.Owed.Order(StringComparer.Ordinal))}]");
        HandOff(plan, announce: true, _installedSource);
    }

    private GossipDigest Digest() => new()
    {
        From = Id,
        Epoch = View?.Epoch ?? 0,
        Origin = Store!.Origin,
        Applied = Store.AppliedSnapshot(),
        Foreign = _stability.ForeignSnapshot(),
        CatchingUp = _caughtUp && !FenceAnyPending() ? null : true,
        FenceEpoch = _fence.Epoch,
        HandoffReports = _fence.AllReports.Count == 0 ? null
            : _fence.AllReports.Select(r => WireHandoffReport.From(r.Report, r.Epoch == _fence.Epoch ? null : r.Epoch)).ToList(),
    };

    private void WakeAll()
    {
        foreach (var link in _links.Values.OrderBy(l => l.Peer.Id)) Push(link);
    }

    /// <summary>ReplicationCoordinator.CountsForCatchUp.</summary>
    private bool CountsForCatchUp(GossipDigest digest) => digest.Epoch >= (View?.Epoch ?? 0) && digest.CatchingUp != true;

    /// <summary>PeerLink.Learned: a new origin means the peer restarted and its frontier may have shrunk.</summary>
    /// <param name="current">a digest made at this node's epoch or later (one sent before it joined and delivered late
    /// says too little to call it caught up) by a peer that has caught up itself</param>
    private void Learned(PeerState link, long peerOrigin, IReadOnlyDictionary<long, long> peerApplied, bool current)
    {
        if (peerOrigin != link.PeerOrigin)
        {
            link.PeerOrigin = peerOrigin;
            link.KnownApplied = peerApplied;
            // PeerLink.NextMessage: a scan filtered by the frontier of the peer's previous life starts again.
            link.Snapshot = null;
        }
        else
        {
            var joined = new Dictionary<long, long>(link.KnownApplied);
            StableFrontier.JoinInto(joined, peerApplied);
            link.KnownApplied = joined;
        }
        // PeerLink.Learned: hearing from the peer ends a pause after an unanswered push, and the push goes again.
        var paused = link.PausedUntil != 0;
        link.PausedUntil = 0;
        link.Backoff.Reset();
        // ReplicationCoordinator.OnPeerFrontier: a replica new to its shard has caught up once it covers a peer.
        if (!_caughtUp && current && _catchUpFrom.Contains(link.Peer.Id) && Store!.Covers(peerApplied))
        {
            _caughtUp = true;
            _membership.SaveCatchUp(new HashSet<int>());
            trace.Add(network.Now, $"node {Id} caught up with node {link.Peer.Id}");
        }
        RecomputeStable();
        if (paused) Push(link);
    }

    private void Push(PeerState link)
    {
        if (Store is null || link.InFlight != 0 || link.PausedUntil > network.Now) return;
        link.PausedUntil = 0;
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
            // PeerLink.PauseAsync: no answer, so the next push waits (writes meanwhile do not end the pause).
            var pause = (long)link.Backoff.Next().TotalMilliseconds;
            link.PausedUntil = network.Now + pause;
            network.After(pause, () =>
            {
                if (generation == _generation && link.PausedUntil != 0 && link.PausedUntil <= network.Now
                    && _links.TryGetValue(link.Peer.Id, out var current) && ReferenceEquals(current, link)) Push(link);
            });
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
            var (enumerator, applied) = store.BeginSnapshot(link.KnownApplied);
            Scans++;
            trace.Add(network.Now, $"node {Id} scans its store for node {link.Peer.Id}: its log no longer reaches back to the peer's frontier");
            var keys = new List<string>();
            using (enumerator)
                while (enumerator.MoveNext()) keys.Add(enumerator.Current.Key);
            keys.Sort(StringComparer.Ordinal);
            link.Snapshot = (keys.ToArray(), applied, 0);
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
                    OnPeerDigest(digest);
                    if (_links.TryGetValue(digest.From, out var link))
                    {
                        Learned(link, digest.Origin, digest.Applied, current: CountsForCatchUp(digest));
                        if (!StableFrontier.Covers(digest.Applied, mine.Applied)) Push(link);
                    }
                    Reply(m, mine);
                    break;
                }
            case GossipDigest theirs:
                if (_links.TryGetValue(m.From, out var asked))
                {
                    Learned(asked, theirs.Origin, theirs.Applied, current: CountsForCatchUp(theirs));
                    OnPeerDigest(theirs);
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
                    if (_links.ContainsKey(batch.From)) RecomputeStable();
                    Reply(m, new ReplicationAck { Origin = Store.Origin, Applied = result.Applied });
                    break;
                }
            case ReplicationAck ack:
                if (_links.TryGetValue(m.From, out var pushed) && pushed.InFlight == m.Request)
                {
                    pushed.InFlight = 0;
                    if (pushed.InFlightEndsSnapshot) pushed.Snapshot = null;
                    Learned(pushed, ack.Origin, ack.Applied, current: false);
                    Push(pushed);
                }
                break;
            case HandoffMessage handoff:
                OnHandoff(m, handoff);
                break;
            case HandoffAck handoffAck:
                OnHandoffAck(m, handoffAck);
                break;
            case FrontierQuery:
                Reply(m, Frontier());
                break;
            case ShardFrontier frontier:
                if (_frontierQueries.Remove(m.Request, out var queried) && frontier.Shard == queried) _remote[queried] = frontier.Stable;
                break;
        }
    }

    private void Reply(SimulatedMessage request, object body) =>
        network.Send(new SimulatedMessage(Id, request.From, request.Request, body) { IsReply = true });

    // ---- the data API (DataEndpoints) ----

    /// <summary>True while the handoff of <paramref name="key"/> from its previous shard has not reached this replica.</summary>
    public bool Fenced(string key) => FencePending(key);

    /// <summary>True when this node is up, follows a view and owns <paramref name="key"/> under it (else it would forward).</summary>
    public bool Serves(string key) => Store is not null && Ring is not null && Shard is not null && Ring.ShardFor(key) == Shard;

    /// <summary>
    /// A read (DataEndpoints.MissingFor): false while this replica may not answer yet, with what it waits for: to have
    /// caught up with a peer (new to its shard), the handoff of the key (it would answer 404), or a write to the key the
    /// session depends on that could change the answer (<see cref="CausalRead.Missing"/>). Else the version to answer
    /// with (null: the key does not exist).
    /// </summary>
    public bool TryRead(string key, DependencySet session, out StoredVersion? version, out string? missing)
    {
        version = Store!.Get(key);
        missing = null;
        if (!_caughtUp) missing = "the state of its shard's other replicas (it just joined)";
        else if (FencePending(key)) missing = $"the handoff of '{key}' from its previous shard";
        else if (CausalRead.Missing(key, session, version) is { } dep) missing = $"{dep.Clock} of '{key}'";
        return missing is null;
    }

    /// <summary>The metadata an answer carries: every dependency all replicas of its key's shard hold is dropped (DataEndpoints.Prune).</summary>
    public DependencySet Prune(DependencySet deps) => prunesMetadata ? deps.Prune(IsStable) : deps;

    /// <summary>A PUT (or DELETE with a null value); null when a delete finds nothing to delete (a 404).</summary>
    public StoredVersion? Write(string key, string? value, DependencySet session)
    {
        var store = Store!;
        var previous = store.Get(key);
        if (value is null && (previous is null || previous.IsDeleted) && session[key] is null) return null;
        var stored = store.Write(key, value, session, Id, prunesMetadata ? IsStable : null);
        WakeAll();
        return stored;
    }
}
