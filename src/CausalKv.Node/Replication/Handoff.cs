using System.Diagnostics;
using CausalKv.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Hosting;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Replication;

public sealed record HandoffOutcome(int Keys, IReadOnlyList<string> Errors);

/// <summary>
/// Hands every key this node holds but no longer owns to the replicas of its
/// new shard, and tells every shard it may have fenced that this node is done.
/// A key is removed here only after a replica of its new shard acknowledged it;
/// a shard none of whose replicas answers is retried until the deadline, and
/// keys not acknowledged stay here for the next attempt (nothing is lost).
/// </summary>
public sealed class Handoff(
    ReplicaStore store,
    PeerClient client,
    ReplicationCoordinator replication,
    NodeTelemetry telemetry,
    IOptions<NodeOptions> options,
    ILogger<Handoff> log)
{
    private readonly int _batch = Math.Max(1, options.Value.ReplicationBatchEntries);
    private readonly TimeSpan _deadline = options.Value.CausalWaitDeadline;

    /// <param name="announce">tell every shard this node is done (after a view change), not only those that get keys</param>
    public async Task<HandoffOutcome> HandOffStrayKeysAsync(Membership membership, CancellationToken ct, string? oldShard = null, bool announce = true)
    {
        if (membership.View is null) return new HandoffOutcome(0, []);
        var fromShard = oldShard ?? membership.MyShard ?? "";
        var byShard = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (key, _) in store.All)
        {
            var owner = membership.ShardFor(key)!;
            if (owner == membership.MyShard) continue;
            if (!byShard.TryGetValue(owner, out var list)) byShard[owner] = list = [];
            list.Add(key);
        }
        // Every shard hears "complete" from us, even with no keys: its fence waits for each old shard.
        // Only a node that held a shard before has anything to announce.
        var targets = announce && oldShard is not null
            ? membership.View.ShardNames.Where(s => s != membership.MyShard || oldShard != membership.MyShard).ToList()
            : byShard.Keys.ToList();
        if (targets.Count == 0 && byShard.Count == 0) return new HandoffOutcome(0, []);

        using var activity = NodeTelemetry.Source.StartActivity(NodeTelemetry.Spans.Handoff);
        activity?.SetTag("causalkv.epoch", membership.Epoch);
        activity?.SetTag("causalkv.from_shard", fromShard);
        var started = Stopwatch.GetTimestamp();
        var sourceStable = new Dictionary<long, long>(replication.Effective);
        var tasks = targets.Select(shard => HandOffToShardAsync(membership, fromShard, shard,
            byShard.GetValueOrDefault(shard) ?? [], sourceStable, ct)).ToList();
        var results = await Task.WhenAll(tasks);
        var moved = results.Sum(r => r.Keys);
        var errors = results.SelectMany(r => r.Errors).ToList();
        activity?.SetTag("causalkv.keys_moved", moved);
        activity?.SetTag("causalkv.bytes", results.Sum(r => r.Bytes));
        activity?.SetTag("causalkv.duration_ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        if (errors.Count > 0) activity?.SetStatus(ActivityStatusCode.Error, string.Join("; ", errors));
        telemetry.HandoffKeys.Add(moved);
        NodeLog.KeysHandedOff(log, membership.Epoch, fromShard, moved, byShard.Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        if (errors.Count > 0) NodeLog.HandoffIncomplete(log, membership.Epoch, string.Join("; ", errors));
        return new HandoffOutcome(moved, errors);
    }

    private sealed record ShardResult(int Keys, long Bytes, IReadOnlyList<string> Errors);

    private async Task<ShardResult> HandOffToShardAsync(Membership membership, string fromShard, string shard,
        List<string> keys, Dictionary<long, long> sourceStable, CancellationToken ct)
    {
        var replicas = membership.View!.NodesOf(shard).Where(n => n.Id != membership.NodeId).ToList();
        if (replicas.Count == 0) return new ShardResult(0, 0, []);
        var moved = 0;
        long bytes = 0;
        var next = 0;
        do
        {
            // A chunk: up to the batch size in keys, and a few MiB of values.
            var versions = new List<WireVersion>();
            var sent = new List<KeyValuePair<string, StoredVersion>>();
            long chunkBytes = 0;
            while (next < keys.Count && sent.Count < _batch && chunkBytes < ReplicaStore.MaxBatchBytes)
            {
                var k = keys[next++];
                if (store.Get(k) is not { } v) continue;
                versions.Add(WireVersion.From(k, v));
                sent.Add(new(k, v));
                chunkBytes += v.ApproximateWireBytes(k);
            }
            var message = new HandoffMessage
            {
                From = membership.NodeId,
                FromShard = fromShard,
                Epoch = membership.Epoch,
                Versions = versions,
                Complete = next >= keys.Count,
                SourceStable = sourceStable,
            };
            // With no keys to move the message only lifts the receivers' fence: one attempt, and gossip
            // or the fence timeout cover a shard that missed it. Keys are retried until acknowledged.
            var acked = await SendToAnyAsync(replicas, message, ct, retry: keys.Count > 0);
            if (acked is null && keys.Count == 0) return new ShardResult(0, 0, []);
            if (acked is null)
                return new ShardResult(moved, bytes, [$"shard '{shard}': no replica acknowledged the handoff of {keys.Count - moved} keys; they stay here and PUT /view can be retried"]);
            bytes += acked.Value;
            // Acknowledged by the new shard: only now may this node forget these keys.
            store.RemoveIfUnchanged(sent);
            moved += versions.Count;
        }
        while (next < keys.Count);
        return new ShardResult(moved, bytes, []);
    }

    /// <summary>Sends to every replica of the shard at once; succeeds when at least one acknowledged.</summary>
    private async Task<long?> SendToAnyAsync(List<ViewNode> replicas, HandoffMessage message, CancellationToken ct, bool retry)
    {
        var started = Stopwatch.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            var attempts = replicas.Select(async r =>
            {
                try
                {
                    // A chunk carries megabytes and the receiver logs each key: give it longer than a replication batch.
                    var (_, sent, _) = await client.PostAsync(r, "/internal/handoff", message,
                        HandoffJsonContext.Default.HandoffMessage, HandoffJsonContext.Default.HandoffAck, ct, client.RequestTimeout * 6);
                    return (long?)sent;
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    NodeLog.HandoffAttemptFailed(log, r.Id, e.Message);
                    return null;
                }
            }).ToList();
            var results = await Task.WhenAll(attempts);
            var ok = results.Where(r => r is not null).ToList();
            if (ok.Count > 0) return ok.Sum();
            if (!retry || Stopwatch.GetElapsedTime(started) > _deadline) return null;
            await Task.Delay(200, ct);
        }
        return null;
    }
}
