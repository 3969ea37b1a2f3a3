using CausalKv.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Hosting;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
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
    private readonly PeerClient _client;
    private readonly NodeTelemetry _telemetry;
    private readonly ClusterState _cluster;
    private readonly ILogger<ReplicationCoordinator> _log;
    private readonly object _gate = new();
    private Dictionary<int, PeerLink> _links = [];
    private volatile IReadOnlyDictionary<long, long> _stable = new Dictionary<long, long>();
    private volatile bool _caughtUp = true;

    public ReplicationCoordinator(ReplicaStore store, PeerClient client, NodeTelemetry telemetry, ClusterState cluster,
        IOptions<NodeOptions> options, ILogger<ReplicationCoordinator> log)
    {
        _store = store;
        _client = client;
        _telemetry = telemetry;
        _cluster = cluster;
        _log = log;
        BatchEntries = options.Value.ReplicationBatchEntries;
        GossipInterval = options.Value.GossipInterval;
        _store.LocalWrite += OnLocalWrite;
        _cluster.Changed += (_, next) => Reconcile(next);
        telemetry.Observe(() => _store.Count, ReplicationLag);
    }

    public int BatchEntries { get; }

    public TimeSpan GossipInterval { get; }

    /// <summary>What every replica of this shard holds, per origin.</summary>
    public IReadOnlyDictionary<long, long> Stable => _stable;

    /// <summary>
    /// False while this replica, new to its shard, has not yet caught up with
    /// any peer: until then it may lack writes clients no longer carry
    /// dependencies on, so reads wait.
    /// </summary>
    public bool CaughtUp => _caughtUp;

    public IReadOnlyCollection<PeerLink> Links
    {
        get { lock (_gate) return _links.Values.ToArray(); }
    }

    public bool IsStable(string key, Dependency dependency) => dependency.Clock.IsCoveredBy(_stable);

    private void Reconcile(Membership next)
    {
        List<PeerLink> removed;
        lock (_gate)
        {
            var wanted = next.Peers.ToDictionary(p => p.Id);
            var links = new Dictionary<int, PeerLink>();
            removed = [];
            foreach (var (id, link) in _links)
            {
                if (wanted.TryGetValue(id, out var peer) && peer == link.Peer) links[id] = link;
                else removed.Add(link);
            }
            foreach (var (id, peer) in wanted)
                if (!links.ContainsKey(id)) links[id] = new PeerLink(peer, _store, _client, _telemetry, this);
            _links = links;
        }
        foreach (var link in removed) _ = link.DisposeAsync().AsTask();
        RecomputeStable();
    }

    /// <summary>Called when this node joins a shard it holds no data for: reads wait until it caught up with a peer.</summary>
    public void ExpectCatchUp()
    {
        lock (_gate) _caughtUp = _links.Count == 0;
    }

    private void OnLocalWrite()
    {
        PeerLink[] links;
        lock (_gate) links = _links.Values.ToArray();
        if (links.Length == 0) { RecomputeStable(); return; }
        foreach (var link in links) link.Wake();
    }

    internal void OnPeerFrontier(PeerLink link)
    {
        if (!_caughtUp && _store.Covers(link.KnownApplied))
        {
            _caughtUp = true;
            _log.LogInformation("Caught up with node {Peer}", link.Peer.Id);
            _store.Changed.Signal();
        }
        RecomputeStable();
    }

    private void RecomputeStable()
    {
        var frontiers = new List<IReadOnlyDictionary<long, long>> { _store.AppliedSnapshot() };
        lock (_gate) frontiers.AddRange(_links.Values.Select(l => l.KnownApplied));
        var stable = StableFrontier.Minimum(frontiers);
        _stable = stable;
        _store.TrimLogs(stable);
    }

    public GossipDigest Digest() => new()
    {
        From = _cluster.NodeId,
        Epoch = _cluster.Current.Epoch,
        Origin = _store.Origin,
        Applied = _store.AppliedSnapshot(),
    };

    /// <summary>A peer's gossip: learn its frontier, push what it lacks, answer with ours.</summary>
    public GossipDigest OnGossip(GossipDigest digest)
    {
        var mine = Digest();
        var link = LinkTo(digest.From);
        if (link is not null)
        {
            link.Learned(digest.Origin, digest.Applied);
            if (!PeerLink.Covers(digest.Applied, mine.Applied)) link.Wake();
        }
        return mine;
    }

    public ReplicationAck OnReplicate(ReplicationMessage message)
    {
        var ranges = message.Ranges.Select(r => new IncomingRange(r.Origin, r.After, r.Keys)).ToList();
        var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
        var result = _store.Apply(ranges, versions, message.SnapshotApplied);
        var link = LinkTo(message.From);
        if (link is not null) RecomputeStable();
        return new ReplicationAck { Origin = _store.Origin, Applied = result.Applied };
    }

    internal ReplicationMessage ToMessage(OutgoingBatch batch) => new()
    {
        From = _cluster.NodeId,
        Epoch = _cluster.Current.Epoch,
        Ranges = batch.Ranges.Select(r => new WireRange { Origin = r.Origin, After = r.After, Keys = r.Keys.ToList() }).ToList(),
        Versions = batch.Versions.Select(v => WireVersion.From(v.Key, v.Value)).ToList(),
        SnapshotApplied = batch.SnapshotApplied?.ToDictionary(),
    };

    private PeerLink? LinkTo(int nodeId)
    {
        lock (_gate) return _links.GetValueOrDefault(nodeId);
    }

    private long ReplicationLag()
    {
        var mine = _store.AppliedSnapshot();
        long worst = 0;
        foreach (var link in Links)
        {
            long lag = 0;
            foreach (var (o, s) in mine) lag += Math.Max(0, s - link.KnownApplied.GetValueOrDefault(o));
            worst = Math.Max(worst, lag);
        }
        return worst;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        PeerLink[] links;
        lock (_gate) { links = _links.Values.ToArray(); _links = []; }
        foreach (var link in links) await link.DisposeAsync();
    }
}
