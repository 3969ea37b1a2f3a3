using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using CausalKv.Causality;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;

namespace CausalKv.Node.Replication;

/// <summary>
/// Everything this node does towards one replica of its shard: it keeps what it
/// last learned of the peer's frontier, pushes whatever the peer lacks as soon
/// as it is signalled (one batch in flight; writes that arrive meanwhile ride in
/// the next batch), and exchanges a gossip digest every interval so that lost
/// pushes are repaired and the frontier knowledge stays fresh. A push the peer does
/// not answer is tried again after a pause that doubles up to a few seconds
/// (<see cref="RetryBackoff"/>), whatever is written meanwhile, and at once when the
/// peer is heard from again; a peer the logs no longer reach back for gets, by pages,
/// the versions of the store with a dot above its frontier. It knows nothing of who keeps the shard's picture: it is
/// given how to make a digest and a message, and tells what it heard from the peer (<see cref="PeerHeard"/>).
/// </summary>
public sealed class PeerLink : IAsyncDisposable
{
    private readonly ReplicaStore _store;
    private readonly IPeerTransport _client;
    private readonly TimeProvider _time;
    private readonly NodeTelemetry _telemetry;
    private readonly int _batchEntries;
    private readonly TimeSpan _gossipInterval;
    private readonly Func<GossipDigest> _digest;
    private readonly Func<OutgoingBatch, ReplicationMessage> _toMessage;
    private readonly Action<PeerHeard> _heardFrom;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pushLoop;
    private readonly Task _gossipLoop;
    /// <summary>Boxed so that a reader on another thread takes it whole, with a volatile read.</summary>
    private volatile StrongBox<Frontier> _knownApplied = new(Frontier.Empty);
    private SnapshotCursor? _snapshot;
    private readonly object _learnGate = new();
    private readonly RetryBackoff _backoff = RetryBackoff.ForPeer();
    /// <summary>Cancelled (and replaced) whenever the peer is heard from: ends a pause after an unanswered push.</summary>
    private CancellationTokenSource _heard = new();
    private long _peerOrigin;
    private volatile bool _peerRestarted;

    /// <param name="digest">this replica's gossip digest, made afresh for each round</param>
    /// <param name="toMessage">a batch of writes as this node sends it</param>
    /// <param name="heardFrom">what the peer told of itself (an acknowledgement, a gossip digest), for whoever keeps the
    /// shard's picture: told after the link has learned it, on whatever thread heard it</param>
    public PeerLink(ViewNode peer, ReplicaStore store, IPeerTransport client, NodeTelemetry telemetry, TimeProvider time,
        int batchEntries, TimeSpan gossipInterval, Func<GossipDigest> digest, Func<OutgoingBatch, ReplicationMessage> toMessage,
        Action<PeerHeard> heardFrom)
    {
        Peer = peer;
        _store = store;
        _client = client;
        _time = time;
        _telemetry = telemetry;
        _batchEntries = batchEntries;
        _gossipInterval = gossipInterval;
        _digest = digest;
        _toMessage = toMessage;
        _heardFrom = heardFrom;
        // The loops outlive whatever request created this link (a PUT /view): without the request's execution
        // context they start no trace of their own, so every push and gossip round is a trace root, not one more
        // span of an ever-growing view-change trace. Each starts by yielding, so it runs where the caller's
        // scheduler puts it (the thread pool in the node, the event loop of a simulation), never inside the caller.
        using (ExecutionContext.SuppressFlow())
        {
            _pushLoop = PushLoopAsync(_stop.Token);
            _gossipLoop = GossipLoopAsync(_stop.Token);
        }
    }

    public ViewNode Peer { get; }

    /// <summary>The peer's frontier as last reported by the peer itself.</summary>
    public Frontier KnownApplied => _knownApplied.Value;

    public bool Reachable { get; private set; }
    public DateTimeOffset? LastContact { get; private set; }
    public long BatchesSent;
    public long WritesSent;
    public long GossipRounds;
    public long GossipBytes;
    public long ReplicationBytes;
    public long PushesFailed;
    public long ScansStarted;

    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>
    /// What the peer reported of its frontier. Reports can arrive out of order
    /// (a gossip digest sent before the last ack), so while the peer keeps its
    /// origin the knowledge only grows; a new origin means it restarted empty.
    /// </summary>
    /// <param name="digest">the peer's gossip digest the report came in (null: an acknowledgement of a push)</param>
    internal void Learned(long peerOrigin, Frontier peerApplied, GossipDigest? digest)
    {
        lock (_learnGate)
        {
            if (peerOrigin != _peerOrigin)
            {
                _peerOrigin = peerOrigin;
                _knownApplied = new(peerApplied);
                // A scan under way was filtered by the frontier of the peer's previous life: it starts again.
                _peerRestarted = true;
            }
            else if (!_knownApplied.Value.Covers(peerApplied))
            {
                _knownApplied = new(_knownApplied.Value.Merge(peerApplied));
            }
        }
        Reachable = true;
        LastContact = _time.GetUtcNow();
        _backoff.Reset();
        Interlocked.Exchange(ref _heard, new CancellationTokenSource()).Cancel();
        _heardFrom(new PeerHeard(this, peerApplied, digest));
    }

    private void Lost() => Reachable = false;

    private async Task PushLoopAsync(CancellationToken ct)
    {
        await Task.Yield();
        try
        {
            while (await _wake.Reader.WaitToReadAsync(ct))
            {
                _wake.Reader.TryRead(out _);
                while (!ct.IsCancellationRequested)
                {
                    var heard = Volatile.Read(ref _heard).Token;
                    var message = NextMessage();
                    if (message is null) break;
                    if (!await SendAsync(message, ct)) await PauseAsync(heard, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>
    /// After a push the peer did not answer: waits the next pause of the back-off, or less if the peer is heard from
    /// meanwhile (<paramref name="heard"/>, taken before the push). Writes made meanwhile only wake the loop for later.
    /// </summary>
    private async Task PauseAsync(CancellationToken heard, CancellationToken ct)
    {
        using var pause = CancellationTokenSource.CreateLinkedTokenSource(ct, heard);
        try
        {
            await Task.Delay(_backoff.Next(), _time, pause.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Heard from: the pause ended inside whoever heard it; the push goes on from the loop's own scheduler.
            await Task.Yield();
        }
        ct.ThrowIfCancellationRequested();
    }

    private async Task<bool> SendAsync(ReplicationMessage message, CancellationToken ct)
    {
        using var activity = NodeTelemetry.Source.StartActivity(NodeTelemetry.Spans.ReplicationPush, ActivityKind.Client);
        activity?.SetTag(NodeTelemetry.Tags.Peer, Peer.Id);
        activity?.SetTag("causalkv.writes", message.Ranges.Sum(r => r.Keys.Count));
        activity?.SetTag("causalkv.keys", message.Versions.Count);
        activity?.SetTag("causalkv.snapshot", message.SnapshotApplied is not null || _snapshot is not null);
        try
        {
            var (ack, sent, _) = await _client.PostAsync(Peer, PeerPaths.Replicate, message,
                WireJsonContext.Default.ReplicationMessage, WireJsonContext.Default.ReplicationAck, ct);
            Interlocked.Increment(ref BatchesSent);
            var writes = message.Ranges.Sum(r => r.Keys.Count);
            Interlocked.Add(ref WritesSent, writes);
            Interlocked.Add(ref ReplicationBytes, sent);
            _telemetry.ReplicationBytes.Add(sent);
            _telemetry.ReplicationWrites.Add(writes);
            activity?.SetTag(NodeTelemetry.Tags.BytesSent, sent);
            if (message.SnapshotApplied is not null) DropSnapshot();
            Learned(ack.Origin, ack.Applied, digest: null);
            return true;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            Interlocked.Increment(ref PushesFailed);
            _telemetry.ReplicationPushFailures.Add(1);
            DropSnapshot();
            Lost();
            return false;
        }
    }

    private ReplicationMessage? NextMessage()
    {
        var budget = _batchEntries;
        if (_peerRestarted)
        {
            _peerRestarted = false;
            DropSnapshot();
        }
        if (_snapshot is null)
        {
            var diff = _store.Diff(KnownApplied, budget);
            if (diff is null) return null;
            if (!diff.NeedsSnapshot) return _toMessage(diff);
            // Only what the peer lacks: the versions with a dot above its frontier (see ReplicaStore.BeginSnapshot).
            var (all, applied) = _store.BeginSnapshot(KnownApplied);
            _snapshot = new SnapshotCursor(all, applied);
            Interlocked.Increment(ref ScansStarted);
            _telemetry.ReplicationScans.Add(1);
        }
        var cursor = _snapshot;
        var versions = new List<KeyValuePair<string, StoredVersion>>();
        long bytes = 0;
        var last = false;
        while (versions.Count < budget && bytes < ReplicaStore.MaxBatchBytes)
        {
            if (!cursor.Versions.MoveNext())
            {
                last = true;
                break;
            }
            var (key, v) = cursor.Versions.Current;
            versions.Add(new(key, v));
            bytes += v.ApproximateWireBytes(key);
        }
        return _toMessage(new OutgoingBatch([], versions, last ? cursor.Applied : null, false));
    }

    private async Task GossipLoopAsync(CancellationToken ct)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(_gossipInterval, _time);
        try
        {
            do
            {
                await GossipOnceAsync(ct);
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    /// <summary>
    /// One gossip round: send our frontier, learn theirs, and push what they lack. The round is exported as a
    /// trace only when it moved data (see <see cref="NodeTelemetry.EndGossipRound"/>); every round is counted.
    /// </summary>
    public async Task GossipOnceAsync(CancellationToken ct)
    {
        using var round = NodeTelemetry.StartGossipRound(Peer.Id);
        var outcome = GossipRoundOutcome.Failed;
        var digest = _digest();
        try
        {
            var (theirs, sent, received) = await _client.PostAsync(Peer, PeerPaths.Gossip, digest,
                WireJsonContext.Default.GossipDigest, WireJsonContext.Default.GossipDigest, ct,
                timeout: _client.RequestTimeout);
            Interlocked.Increment(ref GossipRounds);
            Interlocked.Add(ref GossipBytes, sent + received);
            _telemetry.GossipBytes.Add(sent + received);
            round?.SetTag(NodeTelemetry.Tags.BytesSent, sent);
            round?.SetTag(NodeTelemetry.Tags.BytesReceived, received);
            Learned(theirs.Origin, theirs.Applied, theirs);
            outcome = GossipRoundOutcome.Compare(digest.Applied, theirs.Applied);
            if (outcome.EntriesToSend > 0) Wake();
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            round?.SetStatus(ActivityStatusCode.Error, e.Message);
            Lost();
        }
        finally
        {
            // A round cut short by shutdown is neither a finding nor a failure: not counted, not exported.
            if (ct.IsCancellationRequested) NodeTelemetry.Discard(round);
            else _telemetry.EndGossipRound(round, outcome);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _wake.Writer.TryComplete();
        try { await Task.WhenAll(_pushLoop, _gossipLoop); } catch (OperationCanceledException) { }
        _stop.Dispose();
        DropSnapshot();
    }

    private void DropSnapshot()
    {
        _snapshot?.Versions.Dispose();
        _snapshot = null;
    }

    /// <summary>A whole-state transfer under way: the frontier it includes and the keys still to send.</summary>
    private sealed class SnapshotCursor(IEnumerator<KeyValuePair<string, StoredVersion>> versions, Frontier applied)
    {
        public IEnumerator<KeyValuePair<string, StoredVersion>> Versions { get; } = versions;
        public Frontier Applied { get; } = applied;
    }
}

/// <summary>What a peer told of itself: its frontier, and the gossip digest it came in (null for an acknowledgement of a push).</summary>
public sealed record PeerHeard(PeerLink Link, Frontier Applied, GossipDigest? Digest);
