using System.Diagnostics.Metrics;
using System.Text.Json.Serialization.Metadata;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Protocol;
using CausalKv.Sharding;
using CausalKv.Tests.Sharding;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CausalKv.Tests.Replication;

/// <summary>
/// A replica that missed a view change (it was down while the view was installed) still answers for a key that view
/// moved to another shard. Its peer, on the newer view, deleted the key, handed it off and removed it: its next batch
/// names the delete without a version. Taken, the delete would be in this replica's frontier and the shard's stable
/// one while its copy still held the older value, so a session's dependency on the delete was pruned and a read here
/// answered the older value. The replica refuses the batch until it follows that view.
/// </summary>
public sealed class ReplicationBehindViewTests : IAsyncDisposable
{
    private const int Sender = 0;
    private const int Receiver = 1;
    private readonly ManualTimeProvider _time = new();
    private readonly ReplicaStore _sender = new(new ManualTimeProvider());
    private readonly ReplicaStore _receiver;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ClusterState _cluster;
    private readonly ReplicationCoordinator _coordinator;

    /// <summary>Under view 1 both nodes are shard s0; view 2 adds s1 (node 2), and <see cref="Key"/> moves there.</summary>
    private static readonly ShardView Before = ShardingTestViews.View(1, ("s0", [Sender, Receiver]));
    private static readonly ShardView After = ShardingTestViews.View(2, ("s0", [Sender, Receiver]), ("s1", [2]));
    private static readonly string Key = Enumerable.Range(0, 1000).Select(i => $"k{i}")
        .First(k => new HashRing(After.ShardNames).ShardFor(k) == "s1");

    public ReplicationBehindViewTests()
    {
        _sender.StartIncarnation(Sender);
        _receiver = new ReplicaStore(_time);
        _receiver.StartIncarnation(Receiver);
        var options = Options.Create(new NodeOptions { NodeId = Receiver, GossipInterval = TimeSpan.FromHours(1) });
        _cluster = new ClusterState(new NodeIdentity(options, new ConfigurationBuilder().Build()));
        var membership = new MembershipFile(null);
        _coordinator = new ReplicationCoordinator(_receiver, new Unreachable(), _time, new NodeTelemetry(_services.GetRequiredService<IMeterFactory>()),
            _cluster, new HandoffFence(_receiver, membership, _time), membership, options, NullLogger<ReplicationCoordinator>.Instance);
        _cluster.Install(Before);
    }

    /// <summary>Every request from the receiver fails: the test hands it the sender's batches itself.</summary>
    private sealed class Unreachable : IPeerTransport
    {
        public TimeSpan RequestTimeout => TimeSpan.FromSeconds(5);

        public Task<(TResponse Response, int SentBytes, int ReceivedBytes)> PostAsync<TRequest, TResponse>(ViewNode target, string path,
            TRequest body, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse> responseInfo, CancellationToken ct, TimeSpan? timeout = null) =>
            Task.FromException<(TResponse, int, int)>(new HttpRequestException("Connection refused"));
    }

    /// <summary>What the sender pushes to the receiver now, made under view <paramref name="epoch"/>, as the node makes it.</summary>
    private ReplicationMessage Batch(long epoch)
    {
        var batch = _sender.Diff(_receiver.AppliedSnapshot(), 100)!;
        return new ReplicationMessage
        {
            From = Sender,
            Epoch = epoch,
            Ranges = batch.Ranges.Select(r => new WireRange { Origin = r.Origin, After = r.After, Keys = r.Keys.ToList() }).ToList(),
            Versions = batch.Versions.Select(v => WireVersion.From(v.Key, v.Value)).ToList(),
            Origin = _sender.Origin,
            Applied = _sender.AppliedSnapshot(),
        };
    }

    [Fact]
    public void A_replica_behind_the_senders_view_takes_no_write_named_without_its_version_and_prunes_no_dependency_on_it()
    {
        _sender.Write(Key, "older", DependencySet.Empty, Sender);
        _coordinator.OnReplicate(Batch(epoch: 1));
        Assert.Equal("older", _receiver.Get(Key)!.Value);

        // Under view 2 the sender deletes the key, hands it to s1 and removes it; the receiver still follows view 1.
        var session = DependencySet.Empty;
        var deleted = _sender.Write(Key, null, session, Sender, null, out _, out var dot);
        var onDelete = CausalRead.AfterWriting(session, Key, deleted, dot)[Key]!;
        _sender.RemoveIfUnchanged([new(Key, deleted)]);
        var behind = Batch(epoch: 2);
        Assert.Empty(behind.Versions); // the delete is named, its version is gone from the sender

        try { _coordinator.OnReplicate(behind); }
        catch (BehindViewException) { }

        // The receiver answers for the key under view 1 with the older value: it must not claim the delete, nor prune it.
        Assert.True(_cluster.Current.Owns(Key));
        Assert.Equal("older", _receiver.Get(Key)!.Value);
        Assert.False(_receiver.Covers(Frontier.Empty.With(dot.Origin, dot.Seq)), "the receiver's frontier names a delete it does not hold");
        Assert.False(_coordinator.IsStable(Key, onDelete), "a dependency on a delete the receiver lacks counts as held by every replica");

        // Once it follows view 2 the key is s1's, not its to answer for: it takes the batch, and the shard stays judged by s1.
        _cluster.Install(After);
        Assert.False(_cluster.Current.Owns(Key));
        _coordinator.OnReplicate(Batch(epoch: 2));
        Assert.True(_receiver.Covers(_sender.AppliedSnapshot()));
        Assert.False(_coordinator.IsStable(Key, onDelete));
    }

    [Fact]
    public void A_batch_made_under_a_newer_view_is_refused_and_the_newer_epoch_is_remembered()
    {
        _sender.Write("a", "1", DependencySet.Empty, Sender);
        var e = Assert.Throws<BehindViewException>(() => _coordinator.OnReplicate(Batch(epoch: 2)));
        Assert.Equal(2, e.SentUnder);
        Assert.Equal(1, e.Follows);
        Assert.Equal(2, _cluster.HighestEpochSeen);
        Assert.Null(_receiver.Get("a"));

        // A batch made under this node's view, or an older one (delayed on the way), is taken.
        _coordinator.OnReplicate(Batch(epoch: 1));
        Assert.Equal("1", _receiver.Get("a")!.Value);
    }

    public async ValueTask DisposeAsync()
    {
        await _coordinator.DisposeAsync();
        _receiver.Dispose();
        _sender.Dispose();
        await _services.DisposeAsync();
    }
}
