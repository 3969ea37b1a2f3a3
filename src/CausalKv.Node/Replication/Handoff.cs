using System.Collections.Concurrent;
using System.Diagnostics;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using CausalKv.Protocol;
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
/// Keys this node keeps because it moved into the shard that now owns them are
/// adopted: logged as its own writes, so replication carries them to its new peers.
/// Every "done" names the writes the keys were imported as (<see cref="HandoffFenceState"/>):
/// a replica lifts its fence only once it holds them. A bare "done" (no keys, no writes to name) that no replica took
/// is retried in the background until one does: the receivers' fence for that epoch waits for exactly that report,
/// and gossip only spreads what some replica of the shard received. Which shards still wait for a "done", and the
/// writes adopted keys became, are kept in <see cref="MembershipFile"/> (<see cref="OwedHandoff"/>): a run after a
/// restart tells only those shards, and names the adopted writes instead of importing the keys again.
/// </summary>
public sealed class Handoff(
    ClusterState cluster,
    ReplicaStore store,
    IPeerTransport client,
    ReplicationCoordinator replication,
    HandoffFence fence,
    MembershipFile membership,
    NodeTelemetry telemetry,
    IOptions<NodeOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<Handoff> log)
{
    /// <summary>
    /// The longest pause between two attempts of a relayed report: a tenth of the fence timeout (twice the causal-wait
    /// deadline; 6 s by default), so that a report lost on a lossy link gets about ten attempts before the receivers lift
    /// their fence without it. A fixed limit of 10 s left four attempts where the deadline is short, and a link that lost
    /// a quarter of its packets lost all four.
    /// </summary>
    private readonly TimeSpan _relayPauseLimit = options.Value.CausalWaitDeadline / 5;

    private readonly int _batch = Math.Max(1, options.Value.ReplicationBatchEntries);
    private readonly TimeSpan _deadline = options.Value.CausalWaitDeadline;

    /// <summary>Bare reports being relayed (epoch, shard): a later run leaves them to the relay.</summary>
    private readonly ConcurrentDictionary<(long Epoch, string Shard), bool> _relaying = new();

    /// <summary>True when every one of <paramref name="shards"/> has its bare "done" for <paramref name="epoch"/> being relayed.</summary>
    public bool RelaysAll(long epoch, IEnumerable<string> shards) => shards.All(s => _relaying.ContainsKey((epoch, s)));

    /// <param name="plan">the view change this handoff completes (for strays: <see cref="HandoffPlan.Unchanged"/>)</param>
    /// <param name="announce">tell every shard this node is done (after a view change), not only those that get keys</param>
    /// <param name="sourceStable">the stable frontier of the shard the keys leave, taken while this node was in it
    /// (<see cref="ReplicationCoordinator.SourceStable"/>); null when it cannot tell, and receivers then learn nothing
    /// from this handoff about what is stable</param>
    public async Task<HandoffOutcome> HandOffStrayKeysAsync(HandoffPlan plan, Frontier? sourceStable, CancellationToken ct, bool announce = true)
    {
        var epoch = plan.NewView.Epoch;
        var fromShard = plan.OldShard ?? plan.NewShard ?? "";
        var byShard = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var adopted = new List<KeyValuePair<string, StoredVersion>>();
        foreach (var (key, version) in store.All)
        {
            var disposition = plan.DispositionOf(key);
            if (disposition.Move == KeyMove.Adopt && announce) adopted.Add(new(key, version));
            if (disposition.Move != KeyMove.HandOff) continue;
            if (!byShard.TryGetValue(disposition.TargetShard!, out var list)) byShard[disposition.TargetShard!] = list = [];
            list.Add(key);
        }
        // A run after a restart (or after a shard gave up) tells only the shards still owed, with what the first run
        // adopted; a node that was in no shard under the view it left tells the shards an earlier view still owed.
        var owed = announce ? membership.OwedFor(epoch) : null;
        var announcing = announce && (plan.OldShard is not null || owed is not null);
        // Moved into the shard that owns these keys: its peers never held them. As this node's writes they reach
        // the peers by replication, and the peers' fence waits for exactly those writes.
        var adoptedAs = owed?.AdoptedAs ?? Frontier.Empty;
        if (adopted.Count > 0 && owed?.AdoptedAs is null)
        {
            var (origin, last) = store.Import(adopted);
            var imports = Frontier.Empty.With(origin, last);
            replication.RecordImport(imports, sourceStable);
            adoptedAs = adoptedAs.Merge(imports);
            membership.SaveAdopted(epoch, adoptedAs);
        }
        var reportTo = announcing ? (owed?.Owed ?? plan.AnnounceTo.ToHashSet(StringComparer.Ordinal)) : new HashSet<string>();
        // What was still on its way here under earlier views: as the change found it when this node left its shard
        // (its fence stopped waiting then), or as it is now when the node stays (it waited for it a while).
        var awaits = (plan.ShardChanged ? owed?.Awaits : plan.ReportedAwaits(fence.AwaitedBefore(epoch))) is { Count: > 0 } a ? a.Order().ToList() : null;
        var targets = reportTo.Where(s => !_relaying.ContainsKey((epoch, s))).Union(byShard.Keys).Order(StringComparer.Ordinal).ToList();
        // Moved into a shard: its new peers' fence hears from it too (in gossip), naming the keys it adopted. A node that
        // stays has nothing to tell its own shard, and a report of it there would travel on as if its handoff were done.
        if (announcing && plan.ShardChanged && plan.NewShard is not null) fence.Complete(epoch, new HandoffReport(fromShard, plan.NodeId, adoptedAs, plan.NewShard, awaits));
        if (targets.Count == 0) return new HandoffOutcome(0, []);

        using var activity = NodeTelemetry.Source.StartActivity(NodeTelemetry.Spans.Handoff);
        activity?.SetTag("causalkv.epoch", epoch);
        activity?.SetTag("causalkv.from_shard", fromShard);
        activity?.SetTag("causalkv.keys_adopted", adopted.Count);
        var started = time.GetTimestamp();
        var tasks = targets.Select(shard => HandOffToShardAsync(plan, fromShard, shard,
            byShard.GetValueOrDefault(shard) ?? [], sourceStable,
            shard == plan.NewShard ? adoptedAs : Frontier.Empty, reportTo.Contains(shard) ? new Completion(awaits) : null, ct)).ToList();
        var results = await Task.WhenAll(tasks);
        var moved = results.Sum(r => r.Keys);
        var errors = results.SelectMany(r => r.Errors).ToList();
        activity?.SetTag("causalkv.keys_moved", moved);
        activity?.SetTag("causalkv.bytes", results.Sum(r => r.Bytes));
        activity?.SetTag("causalkv.duration_ms", time.GetElapsedTime(started).TotalMilliseconds);
        if (errors.Count > 0) activity?.SetStatus(ActivityStatusCode.Error, string.Join("; ", errors));
        telemetry.HandoffKeys.Add(moved);
        NodeLog.KeysHandedOff(log, epoch, fromShard, moved, byShard.Count, (long)time.GetElapsedTime(started).TotalMilliseconds);
        if (errors.Count > 0) NodeLog.HandoffIncomplete(log, epoch, string.Join("; ", errors));
        return new HandoffOutcome(moved, errors);
    }

    private sealed record ShardResult(int Keys, long Bytes, IReadOnlyList<string> Errors);

    /// <summary>The handoff to a shard ends with this node's "done" for it, naming the nodes it still awaited.</summary>
    private sealed record Completion(List<int>? Awaits);

    /// <param name="completion">null: the keys only (no report owed to this shard)</param>
    private async Task<ShardResult> HandOffToShardAsync(HandoffPlan plan, string fromShard, string shard,
        List<string> keys, Frontier? sourceStable, Frontier adoptedAs, Completion? completion, CancellationToken ct)
    {
        var complete = completion is not null;
        var replicas = plan.NewView.NodesOf(shard).Where(n => n.Id != plan.NodeId).ToList();
        if (replicas.Count == 0)
        {
            // Nobody else in it waits for this node's report.
            if (complete) membership.SaveReported(plan.NewView.Epoch, shard);
            return new ShardResult(0, 0, []);
        }
        var moved = 0;
        long bytes = 0;
        var next = 0;
        // The writes the keys became on the replicas that acknowledged them: the "done" names them all.
        var requires = adoptedAs;
        // Keys, or a "done" that names writes, must be acknowledged; a bare "done" is tried once (gossip spreads it).
        var mustArrive = keys.Count > 0 || requires.Count > 0;
        do
        {
            // A chunk: up to the batch size in keys, and a few MiB of values.
            var versions = new List<WireVersion>();
            var sent = new List<KeyValuePair<string, StoredVersion>>();
            long chunkBytes = 0;
            while (next < keys.Count && sent.Count < _batch && chunkBytes < ReplicaStore.MaxBatchBytes)
            {
                var k = keys[next++];
                // A later view may have given the key back to this node's shard while the handoff went on.
                if (cluster.Current.Owns(k) || store.Get(k) is not { } v) continue;
                versions.Add(WireVersion.From(k, v));
                sent.Add(new(k, v));
                chunkBytes += v.ApproximateWireBytes(k);
            }
            var message = new HandoffMessage
            {
                From = plan.NodeId,
                FromShard = fromShard,
                Epoch = plan.NewView.Epoch,
                Versions = versions,
                Complete = complete && next >= keys.Count,
                ToShard = shard,
                SourceStable = sourceStable,
                Requires = requires.IsEmpty ? null : requires,
                Awaits = complete && next >= keys.Count ? completion!.Awaits : null,
            };
            var acks = await SendToAnyAsync(replicas, message, ct, retry: mustArrive);
            if (acks is null && !mustArrive)
            {
                if (_relaying.TryAdd((message.Epoch, shard), true))
                {
                    NodeLog.HandoffReportRelayed(log, shard, message.Epoch);
                    _ = RelayReportAsync(replicas, message, shard);
                }
                return new ShardResult(0, 0, []);
            }
            if (acks is null)
                return new ShardResult(moved, bytes, [$"shard '{shard}': no replica acknowledged the handoff of {keys.Count - moved} keys; they stay here and PUT /view can be retried"]);
            bytes += acks.Sum(a => a.Bytes);
            foreach (var (ack, _) in acks)
                if (ack.Imported > 0) requires = requires.Merge(Frontier.Empty.With(ack.Origin, ack.Last));
            // Acknowledged by the new shard: only now may this node forget these keys (not those a later view gave back).
            store.RemoveIfUnchanged(sent.Where(kv => !cluster.Current.Owns(kv.Key)));
            moved += versions.Count;
            if (message.Complete) membership.SaveReported(message.Epoch, shard);
        }
        while (next < keys.Count);
        return new ShardResult(moved, bytes, []);
    }

    /// <summary>
    /// Retries a bare report with growing pauses until a replica of <paramref name="shard"/> (as the report's view has
    /// it) takes it, the node stops, or none of those replicas is in that shard under the cluster's view any more.
    /// </summary>
    private async Task RelayReportAsync(List<ViewNode> replicas, HandoffMessage message, string shard)
    {
        try
        {
            await RelayAsync(replicas, message, shard);
        }
        finally
        {
            _relaying.TryRemove((message.Epoch, shard), out _);
        }
    }

    private async Task RelayAsync(List<ViewNode> replicas, HandoffMessage message, string shard)
    {
        var stopping = lifetime.ApplicationStopping;
        var pause = TimeSpan.FromSeconds(1) < _relayPauseLimit ? TimeSpan.FromSeconds(1) : _relayPauseLimit;
        for (var attempt = 2; !stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(pause, time, stopping);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var current = cluster.Current.View;
            // Its replicas all left the shard: only a newer view's handoff can reach its members now (it carries what is owed).
            if (current is null || !replicas.Any(r => string.Equals(current.ShardOf(r.Id), shard, StringComparison.Ordinal))) return;
            if (await SendToAnyAsync(replicas, message, stopping, retry: false) is not null)
            {
                membership.SaveReported(message.Epoch, shard);
                NodeLog.HandoffReportDelivered(log, shard, message.Epoch, attempt);
                return;
            }
            pause = pause * 2 < _relayPauseLimit ? pause * 2 : _relayPauseLimit;
        }
    }

    /// <summary>Sends to every replica of the shard at once; succeeds when at least one acknowledged.</summary>
    private async Task<List<(HandoffAck Ack, long Bytes)>?> SendToAnyAsync(List<ViewNode> replicas, HandoffMessage message, CancellationToken ct, bool retry)
    {
        var started = time.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            var attempts = replicas.Select(async r =>
            {
                try
                {
                    // A chunk carries megabytes and the receiver logs each key: give it longer than a replication batch.
                    var (ack, sent, _) = await client.PostAsync(r, PeerPaths.Handoff, message,
                        HandoffJsonContext.Default.HandoffMessage, HandoffJsonContext.Default.HandoffAck, ct, client.RequestTimeout * 6);
                    return ((HandoffAck Ack, long Bytes)?)(ack, sent);
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    NodeLog.HandoffAttemptFailed(log, r.Id, e.Message);
                    return null;
                }
            }).ToList();
            var results = await Task.WhenAll(attempts);
            // A "done" counts only where a replica of its shard took it: one that has moved to another shard under a
            // newer view takes the keys (its sweep passes them on) but passes the report to nobody, so its shard would
            // wait for good. One still on an older view takes it for the view that puts it in the shard.
            var ok = results.Where(r => r is not null && !(message.Complete && r.Value.Ack.LeftShard)).Select(r => r!.Value).ToList();
            if (ok.Count > 0) return ok;
            if (!retry || time.GetElapsedTime(started) > _deadline) return null;
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
        }
        return null;
    }
}
