namespace CausalKv.Sharding;

/// <summary>
/// Pure description of what a view change (old view -&gt; new view) means for one node:
/// which shard it leaves / joins, which shard names appear or disappear, which of the keys it
/// held must be handed off (and to which shard), and from which old shards it may receive keys.
/// </summary>
public sealed class HandoffPlan
{
    private static readonly IReadOnlySet<string> EmptySet = new HashSet<string>(StringComparer.Ordinal);

    private readonly IReadOnlySet<int> _catchingUpFrom;

    private HandoffPlan(ShardView? oldView, ShardView newView, int nodeId, IReadOnlySet<int>? catchingUpFrom)
    {
        _catchingUpFrom = catchingUpFrom ?? new HashSet<int>();
        OldView = oldView;
        NewView = newView;
        NodeId = nodeId;
        OldShard = oldView?.ShardOf(nodeId);
        NewShard = newView.ShardOf(nodeId);
        OldRing = oldView?.CreateRing();
        NewRing = newView.CreateRing();

        var oldNames = oldView?.ShardNames ?? [];
        var newNames = newView.ShardNames;
        AddedShards = Sorted(newNames.Except(oldNames, StringComparer.Ordinal));
        RemovedShards = Sorted(oldNames.Except(newNames, StringComparer.Ordinal));
        IncomingFromShards = ComputeIncoming(oldView, OldShard, NewShard, ShardSetChanged);
    }

    /// <summary>The node this plan is for.</summary>
    public int NodeId { get; }

    /// <summary>Previous view, or null if there was none.</summary>
    public ShardView? OldView { get; }

    /// <summary>The view being installed.</summary>
    public ShardView NewView { get; }

    /// <summary>Ring of the old view, or null if there was no old view.</summary>
    public HashRing? OldRing { get; }

    /// <summary>Ring of the new view.</summary>
    public HashRing NewRing { get; }

    /// <summary>Shard of this node under the old view (null: not a member / no old view).</summary>
    public string? OldShard { get; }

    /// <summary>Shard of this node under the new view (null: not a member of the new view).</summary>
    public string? NewShard { get; }

    /// <summary>True if this node's shard differs between the two views (including joining or leaving).</summary>
    public bool ShardChanged => !string.Equals(OldShard, NewShard, StringComparison.Ordinal);

    /// <summary>True if the node is in the old view but not in the new one.</summary>
    public bool LeavesCluster => OldShard is not null && NewShard is null;

    /// <summary>True if the node is in the new view but was not in the old one.</summary>
    public bool JoinsCluster => OldShard is null && NewShard is not null;

    /// <summary>Shard names present in the new view but not in the old one (sorted ordinal).</summary>
    public IReadOnlySet<string> AddedShards { get; }

    /// <summary>Shard names present in the old view but not in the new one (sorted ordinal).</summary>
    public IReadOnlySet<string> RemovedShards { get; }

    /// <summary>True if the set of shard names changed (so the ring changed).</summary>
    public bool ShardSetChanged => AddedShards.Count > 0 || RemovedShards.Count > 0;

    /// <summary>
    /// Old shards from which this node's new shard may receive keys (sorted ordinal; empty if the
    /// node is not in the new view or there is no old view).
    /// <para>
    /// This is a deliberately simple, conservative over-approximation (a superset of the shards that
    /// actually send keys), because it cannot be computed exactly without enumerating keys:
    /// </para>
    /// <list type="bullet">
    /// <item>Node not in the new view: nothing (it owns nothing afterwards).</item>
    /// <item>No old view: nothing (there was no data anywhere).</item>
    /// <item>The node's new shard did not exist in the old view, or the node was not in that shard
    /// under the old view (it joined the cluster or moved shard): it holds none of that shard's
    /// current data, so it may need keys from every old shard.</item>
    /// <item>Otherwise (the node stays in a shard that already existed): the old shards that no
    /// longer exist (their keys are redistributed over the survivors), plus — if the set of shard
    /// names changed at all (the ring changed) — every old shard. If the set of shard names is
    /// unchanged the ring is unchanged, no key changes shard, so nothing is incoming (peers joining
    /// the shard are fed by the shard itself, not by handoff).</item>
    /// </list>
    /// </summary>
    public IReadOnlyList<string> IncomingFromShards { get; }

    /// <summary>
    /// For a key this node held under the old view: the shard owning it under the new view if that
    /// is not this node's new shard (the key must be handed off there), otherwise null. If the
    /// node is not in the new view every key leaves, so the result is always the new owner.
    /// </summary>
    public string? NewOwnerShardOf(string key)
    {
        string owner = NewRing.ShardFor(key);
        return string.Equals(owner, NewShard, StringComparison.Ordinal) ? null : owner;
    }

    /// <inheritdoc cref="NewOwnerShardOf(string)"/>
    public string? NewOwnerShardOf(ReadOnlySpan<byte> utf8Key)
    {
        string owner = NewRing.ShardFor(utf8Key);
        return string.Equals(owner, NewShard, StringComparison.Ordinal) ? null : owner;
    }

    /// <summary>True if a key this node held must be handed off to another shard under the new view.</summary>
    public bool KeyLeaves(string key) => NewOwnerShardOf(key) is not null;

    /// <summary>
    /// True if the change can move data at all for this node: its shard changed, or the ring
    /// changed. When false, <see cref="KeyLeaves"/> is false for every key this node legitimately held.
    /// </summary>
    public bool MayHandOff => ShardChanged || ShardSetChanged;

    /// <summary>
    /// What this node does, after the change, with a key it holds: keep it (its shard owns it and always did here),
    /// adopt it (its new shard owns it but its peers there never held it: it must reach them as a write of this
    /// node, and this node keeps it), or hand it off to the shard that owns it now (and forget it once acknowledged).
    /// A node that joins a shard from none adopts too: what it holds then is what the handoff of an earlier view did
    /// not hand over before a newer view stopped it (or before its deadline), and its new peers never held it.
    /// </summary>
    public KeyDisposition DispositionOf(string key)
    {
        string owner = NewRing.ShardFor(key);
        if (!string.Equals(owner, NewShard, StringComparison.Ordinal)) return KeyDisposition.HandOffTo(owner);
        return OldView is not null && ShardChanged ? KeyDisposition.Adopt : KeyDisposition.Keep;
    }

    /// <summary>
    /// The shards of the new view that must hear that this node finished handing off its old shard's keys (sorted
    /// ordinal): every shard but the one it stays in, including its new shard when it moved, and its old shard when
    /// it left it (the members of that shard fence it on the nodes that left: see <see cref="FenceSources"/>). A node
    /// that was in no shard before tells only the shard it joins, naming what it adopted there (its peers fence on it:
    /// <see cref="JoiningPeers"/>); with no shard before nor now, or no view before, it tells nobody.
    /// </summary>
    public IReadOnlyList<string> AnnounceTo =>
        OldShard is null
            ? (OldView is not null && NewShard is not null ? [NewShard] : [])
            : NewView.ShardNames.Where(s => ShardChanged || !string.Equals(s, OldShard, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// The other nodes of this node's new shard that were in no shard of the old view (none without an old view). Such
    /// a node may still hold keys: its handoff of the view that left it out stopped before every key was acknowledged
    /// (a newer view stopped it, or it gave up at its deadline), and the keys it holds that its new shard owns stay
    /// with it (adopted: <see cref="DispositionOf"/>). Nobody else knows of them: the old owners' reports stand for
    /// what those owners held, and the sender's own report of the later view lifted their wait for it. So the shard
    /// waits for its report as it waits for a node that moves into it (<see cref="FenceSources"/>).
    /// </summary>
    public IReadOnlySet<int> JoiningPeers
    {
        get
        {
            if (OldView is null || NewShard is null) return new HashSet<int>();
            return NewView.NodesOf(NewShard).Select(n => n.Id).Where(id => id != NodeId && OldView.ShardOf(id) is null).ToHashSet();
        }
    }

    /// <summary>
    /// The other nodes of this node's new shard that were in that shard before this view and stay in it: they hold
    /// its data. A node new to the shard has caught up once it holds what one of them holds; when there is none, the
    /// shard's data (if the shard existed) comes by handoff from the members that left, and is fenced instead.
    /// </summary>
    public IReadOnlySet<int> EstablishedPeers
    {
        get
        {
            if (OldView is null || NewShard is null || !OldView.Shards.ContainsKey(NewShard)) return new HashSet<int>();
            var before = OldView.NodesOf(NewShard).Select(n => n.Id).ToHashSet();
            return NewView.NodesOf(NewShard).Select(n => n.Id).Where(id => id != NodeId && before.Contains(id)).ToHashSet();
        }
    }

    /// <summary>
    /// The peers this node must catch up with after the change before it answers reads: its <see cref="EstablishedPeers"/>
    /// when it is new to its shard; when it stays in its shard still catching up, those of the peers it was catching up
    /// from that stay in the shard with it. Empty when it owes no catch-up, also when every peer it was catching up from
    /// left the shard: their data then comes by handoff, and the shard is fenced on them (see <see cref="FenceSources"/>).
    /// </summary>
    public IReadOnlySet<int> CatchUpFrom
    {
        get
        {
            if (NewShard is null) return new HashSet<int>();
            if (ShardChanged) return EstablishedPeers;
            var staying = NewView.NodesOf(NewShard).Select(n => n.Id).ToHashSet();
            return _catchingUpFrom.Where(staying.Contains).ToHashSet();
        }
    }

    /// <summary>
    /// The old shards whose keys this node must not answer "absent" for until each of their nodes (in the old view)
    /// reported its handoff: <see cref="IncomingFromShards"/> except its own new shard, whose keys are here already or
    /// come by replication from its <see cref="EstablishedPeers"/>. Its own new shard, if it existed, is fenced on the
    /// members that left it: until the new view reaches them they still answer for its keys from their copies, so a
    /// write here is not stable (no session may drop its dependency on it) before each of them handed off and
    /// announced it (<see cref="AnnounceTo"/> names the shard they left). With nobody left behind, its keys come by
    /// handoff from those members as well. The <see cref="JoiningPeers"/> are sources of every old shard whose keys the
    /// new shard may own now (all of them when the ring changed or this node moved, else its own): a key one of them
    /// kept came from whichever of those its unfinished handoff was taking it to.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlySet<int>> FenceSources
    {
        get
        {
            var sources = new SortedDictionary<string, IReadOnlySet<int>>(StringComparer.Ordinal);
            if (OldView is null) return sources;
            foreach (var shard in IncomingFromShards)
            {
                if (string.Equals(shard, NewShard, StringComparison.Ordinal)) continue;
                sources[shard] = OldView.NodesOf(shard).Select(n => n.Id).ToHashSet();
            }
            if (NewShard is not null && OldView.Shards.ContainsKey(NewShard))
            {
                var staying = NewView.NodesOf(NewShard).Select(n => n.Id).ToHashSet();
                var departed = OldView.NodesOf(NewShard).Select(n => n.Id).Where(id => !staying.Contains(id)).ToHashSet();
                if (departed.Count > 0) sources[NewShard] = departed;
            }
            var joining = JoiningPeers;
            if (joining.Count == 0) return sources;
            var gaining = IncomingFromShards.Concat(NewShard is not null && OldView.Shards.ContainsKey(NewShard) ? [NewShard] : []);
            foreach (var shard in gaining.Distinct(StringComparer.Ordinal))
                sources[shard] = sources.TryGetValue(shard, out var nodes) ? nodes.Union(joining).ToHashSet() : joining;
            return sources;
        }
    }

    /// <summary>
    /// Of <paramref name="nodes"/> whose keys were still on their way here, those this node's reports name
    /// (<see cref="HandoffReport.Awaits"/>): the members of a shard of the old view. One in no shard of it announces
    /// under the new view only to the shard it joins, if any (<see cref="AnnounceTo"/>), whose members wait for it
    /// anyway (<see cref="JoiningPeers"/>), so another shard told to wait for it would wait until the fence's timeout;
    /// what it still holds of that shard's keys reaches it as strays.
    /// </summary>
    public IReadOnlySet<int> ReportedAwaits(IEnumerable<int> nodes) =>
        nodes.Where(n => n != NodeId && OldView?.ShardOf(n) is not null).ToHashSet();

    /// <summary>Builds the plan for <paramref name="nodeId"/>.</summary>
    /// <param name="catchingUpFrom">the peers the node is still catching up from under <paramref name="old"/> (none: caught up)</param>
    public static HandoffPlan Create(ShardView? old, ShardView @new, int nodeId, IReadOnlySet<int>? catchingUpFrom = null)
    {
        ArgumentNullException.ThrowIfNull(@new);
        return new HandoffPlan(old, @new, nodeId, catchingUpFrom);
    }

    private static IReadOnlyList<string> ComputeIncoming(ShardView? oldView, string? oldShard, string? newShard, bool shardSetChanged)
    {
        if (newShard is null || oldView is null)
        {
            return [];
        }
        bool newShardExisted = oldView.Shards.ContainsKey(newShard);
        bool wasInThatShard = string.Equals(oldShard, newShard, StringComparison.Ordinal);
        if (!newShardExisted || !wasInThatShard)
        {
            return oldView.ShardNames;
        }
        // The old shards that no longer exist are a subset of every old shard, and their existence
        // implies the shard set changed, so the union collapses to this.
        return shardSetChanged ? oldView.ShardNames : [];
    }

    private static IReadOnlySet<string> Sorted(IEnumerable<string> names)
    {
        var set = new SortedSet<string>(names, StringComparer.Ordinal);
        return set.Count == 0 ? EmptySet : set;
    }

    /// <summary>Builds the plan for a node that keeps its view (no change): only strays leave.</summary>
    public static HandoffPlan Unchanged(ShardView view, int nodeId) => Create(view, view, nodeId);

    /// <inheritdoc />
    public override string ToString() =>
        $"node {NodeId}: {OldShard ?? "-"} -> {NewShard ?? "-"}; added [{string.Join(", ", AddedShards)}], removed [{string.Join(", ", RemovedShards)}], incoming from [{string.Join(", ", IncomingFromShards)}]";
}
