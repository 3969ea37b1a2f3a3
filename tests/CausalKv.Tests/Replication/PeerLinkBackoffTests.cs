using System.Diagnostics.Metrics;
using System.Text.Json.Serialization.Metadata;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;
using CausalKv.Tests.Sharding;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CausalKv.Tests.Replication;

/// <summary>
/// A node whose shard's other replica does not answer pushes to it once per pause, the pauses doubling from 100 ms to
/// 5 s whatever is written meanwhile, and pushes at once, from the first pause again, when the peer is heard from:
/// the peer then holds every write. The pauses run on the node's TimeProvider, moved here by hand.
/// </summary>
public sealed class PeerLinkBackoffTests : IAsyncDisposable
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);
    private readonly ManualTimeProvider _time = new();
    private readonly ReplicaStore _store;
    private readonly ReplicaStore _peer;
    private readonly PeerTransport _transport;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ReplicationCoordinator _coordinator;

    public PeerLinkBackoffTests()
    {
        _store = new ReplicaStore(_time);
        _store.StartIncarnation(0);
        _peer = new ReplicaStore(_time);
        _peer.StartIncarnation(1);
        _transport = new PeerTransport(_peer);
        // Gossip runs once when the link starts, then not within the test: every push it sees comes from the push loop.
        var options = Options.Create(new NodeOptions { NodeId = 0, GossipInterval = TimeSpan.FromHours(1) });
        var cluster = new ClusterState(new NodeIdentity(options, new ConfigurationBuilder().Build()));
        var membership = new MembershipFile(null);
        _coordinator = new ReplicationCoordinator(_store, _transport, _time, new NodeTelemetry(_services.GetRequiredService<IMeterFactory>()),
            cluster, new HandoffFence(_store, membership, _time), membership, options, NullLogger<ReplicationCoordinator>.Instance);
        cluster.Install(ShardingTestViews.View(1, ("s0", [0, 1])));
    }

    /// <summary>The peer: its replica store behind /internal/replicate and /internal/gossip, or nothing while it is down.</summary>
    private sealed class PeerTransport(ReplicaStore peer) : IPeerTransport
    {
        private int _pushes;
        public volatile bool Down = true;
        public int Pushes => Volatile.Read(ref _pushes);
        public TimeSpan RequestTimeout => TimeSpan.FromSeconds(5);

        public Task<(TResponse Response, int SentBytes, int ReceivedBytes)> PostAsync<TRequest, TResponse>(ViewNode target, string path,
            TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo, CancellationToken ct, TimeSpan? timeout = null)
        {
            if (body is ReplicationMessage) Interlocked.Increment(ref _pushes);
            if (Down) return Task.FromException<(TResponse, int, int)>(new HttpRequestException("Connection refused"));
            object answer = body switch
            {
                ReplicationMessage m => new ReplicationAck
                {
                    Origin = peer.Origin,
                    Applied = peer.Apply(m.Ranges.Select(r => new IncomingRange(r.Origin, r.After, r.Keys)).ToList(),
                        m.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList(), m.SnapshotApplied).Applied,
                },
                _ => Digest(peer),
            };
            return Task.FromResult(((TResponse)answer, 100, 100));
        }
    }

    private static GossipDigest Digest(ReplicaStore peer) => new() { From = 1, Epoch = 1, Origin = peer.Origin, Applied = peer.AppliedSnapshot() };

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not true within {Within.TotalSeconds} s: {what}");
            await Task.Delay(10);
        }
    }

    private void Write(int count, string prefix)
    {
        for (var i = 0; i < count; i++) _store.Write($"{prefix}{i}", "v", DependencySet.Empty, 0);
    }

    /// <summary>Waits until the push loop failed <paramref name="pushes"/> times in all and took its next pause.</summary>
    private async Task<TimeSpan> PauseAfter(int pushes)
    {
        await Until(() => _transport.Pushes == pushes && _time.NextDue is not null, $"push {pushes} failed and a pause began");
        return _time.NextDue!.Value;
    }

    [Fact]
    public async Task A_peer_that_does_not_answer_is_pushed_to_once_per_pause_doubling_to_five_seconds_and_at_once_when_heard_from()
    {
        Write(1, "first");
        Assert.Equal(TimeSpan.FromMilliseconds(100), await PauseAfter(1));

        // Writes during the pause wake nothing: no batch is built or sent for them.
        Write(500, "during");
        _time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(TimeSpan.FromMilliseconds(1), _time.NextDue);
        Assert.Equal(1, _transport.Pushes);

        var expected = new[] { 200, 400, 800, 1600, 3200, 5000, 5000 };
        _time.Advance(TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(expected[i]), await PauseAfter(2 + i));
            Write(100, $"pause{i}-");
            _time.Advance(TimeSpan.FromMilliseconds(expected[i]));
        }
        await PauseAfter(2 + expected.Length);

        // The peer is back and gossips: the pause ends at once and it gets every write.
        _transport.Down = false;
        _coordinator.OnGossip(Digest(_peer));
        await Until(() => _peer.Covers(_store.AppliedSnapshot()), "the peer holds every write after it was heard from");
        foreach (var (key, version) in _store.All)
            Assert.True(version.SameStateAs(_peer.Get(key)!), $"'{key}' differs at the peer");

        // Down again: the pauses start from the first one.
        var before = _transport.Pushes;
        _transport.Down = true;
        Write(1, "again");
        Assert.Equal(TimeSpan.FromMilliseconds(100), await PauseAfter(before + 1));
    }

    public async ValueTask DisposeAsync()
    {
        await _coordinator.DisposeAsync();
        _store.Dispose();
        _peer.Dispose();
        await _services.DisposeAsync();
    }
}
