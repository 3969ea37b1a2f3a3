using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CausalKv.Causality;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;

namespace CausalKv.Node.Replication;

/// <summary>
/// What a node does with each message another node sends it (<see cref="PeerPaths"/>): gossip digests, replication
/// batches, frontier questions, handoffs. Carrier-free: the HTTP endpoints (<c>InternalApi</c>) and any other carrier
/// of <see cref="IPeerTransport"/> hand the message here and send back what it answers.
/// A frontier told to a peer is one the peer may prune dependencies by: every answer names only writes as durable here
/// as the node's durability promises (with Fsync, it waits for the fsync covering what it reports).
/// </summary>
public sealed class PeerEndpoints(ReplicationCoordinator replication, ClusterState cluster, ReplicaStore store, HandoffFence fence, ILogger<Handoff> log)
{
    /// <summary>A peer's gossip: learn its frontier and reports, answer with ours.</summary>
    public async Task<GossipDigest> GossipAsync(GossipDigest digest, CancellationToken ct)
    {
        cluster.ObserveEpoch(digest.Epoch);
        var reply = replication.OnGossip(digest);
        await store.WhenDurableAsync(ct);
        return reply;
    }

    public async Task<ReplicationAck> ReplicateAsync(ReplicationMessage message, CancellationToken ct)
    {
        var ack = replication.OnReplicate(message);
        await store.WhenDurableAsync(ct);
        return ack;
    }

    public async Task<ShardFrontier> FrontierAsync(CancellationToken ct)
    {
        var frontier = replication.Frontier();
        await store.WhenDurableAsync(ct);
        return frontier;
    }

    /// <summary>
    /// Keys handed to this node's shard: imported as this node's writes; a complete handoff is a report for the fence
    /// and tells what the moved keys carried as stable.
    /// </summary>
    public async Task<HandoffAck> HandoffAsync(HandoffMessage message, CancellationToken ct)
    {
        cluster.ObserveEpoch(message.Epoch);
        var versions = message.Versions.Select(v => new KeyValuePair<string, StoredVersion>(v.K, v.ToStored())).ToList();
        var (origin, last) = versions.Count > 0 ? store.Import(versions) : (0, 0);
        cluster.Received(versions.Select(v => v.Key));
        if (message.Complete)
        {
            // What the other replicas must hold before they lift their fence: every import of this handoff, ours included.
            var requires = message.Requires ?? Frontier.Empty;
            if (versions.Count > 0) requires = requires.Merge(Frontier.Empty.With(origin, last));
            // Only a whole handoff says what the moved keys carry: a part says nothing of the keys still to come.
            replication.RecordImport(requires, message.SourceStable);
            var to = message.ToShard ?? cluster.Current.MyShard;
            fence.Complete(message.Epoch, new HandoffReport(message.FromShard, message.From, requires, to, message.Awaits));
        }
        await store.WhenDurableAsync(ct);
        if (versions.Count > 0 || message.Complete)
            NodeLog.KeysGained(log, message.Epoch, versions.Count, message.FromShard, message.From, message.Complete);
        return new HandoffAck
        {
            Node = cluster.NodeId, Epoch = cluster.Current.Epoch, Imported = versions.Count,
            Origin = origin, Last = last,
            LeftShard = cluster.Current.Epoch > message.Epoch && message.ToShard is { } sentTo
                && !string.Equals(cluster.Current.MyShard, sentTo, StringComparison.Ordinal),
        };
    }

    /// <summary>A message as it travels (JSON), to the handler of its path; the answer as it travels back.</summary>
    public async Task<byte[]> HandleAsync(string path, byte[] body, CancellationToken ct) => path switch
    {
        PeerPaths.Gossip => Write(await GossipAsync(Read(body, WireJsonContext.Default.GossipDigest), ct), WireJsonContext.Default.GossipDigest),
        PeerPaths.Replicate => Write(await ReplicateAsync(Read(body, WireJsonContext.Default.ReplicationMessage), ct), WireJsonContext.Default.ReplicationAck),
        PeerPaths.Frontier => Write(await FrontierAsync(ct), WireJsonContext.Default.ShardFrontier),
        PeerPaths.Handoff => Write(await HandoffAsync(Read(body, HandoffJsonContext.Default.HandoffMessage), ct), HandoffJsonContext.Default.HandoffAck),
        _ => throw new ArgumentException($"No node-to-node message is posted to {path}.", nameof(path)),
    };

    private static T Read<T>(byte[] body, JsonTypeInfo<T> info) =>
        JsonSerializer.Deserialize(body, info) ?? throw new JsonException("An empty node-to-node message.");

    private static byte[] Write<T>(T answer, JsonTypeInfo<T> info) => JsonSerializer.SerializeToUtf8Bytes(answer, info);
}
