using CausalKv.Causality;

namespace CausalKv.Sharding;

/// <summary>
/// A node of old shard <paramref name="Shard"/> finished handing shard <paramref name="To"/> every key it held for
/// it; the keys became the writes <paramref name="Requires"/> names there. It says nothing of the keys of any other
/// shard (null <paramref name="To"/>: a report from a node that does not say, taken to be about the hearer's shard).
/// </summary>
/// <param name="Awaits">the nodes whose own handoffs to the reporting node's shard it had not heard complete when its
/// handoff went over its store: keys on their way to it then never reached its scan, and now come from those nodes
/// (their later handoff goes to the keys' new owner). A hearer waits for their reports too.</param>
public sealed record HandoffReport(string Shard, int Node, Frontier Requires, string? To = null, IReadOnlyList<int>? Awaits = null)
{
    /// <summary>True when the report is about the keys of <paramref name="shard"/> (this replica's, at the report's view).</summary>
    public bool IsFor(string? shard) => To is null || shard is null || string.Equals(To, shard, StringComparison.Ordinal);
}

/// <summary>
/// The handoffs of one view change as a replica of a gaining shard has heard of them: for each old shard it waits
/// for, the old nodes that have not reported and the writes the reports say this replica must hold; and every
/// report heard for its epoch.
/// </summary>
/// <param name="Epoch">the epoch of the view the change installed</param>
/// <param name="OldRing">the ring of the view before it, which says which old shard held a key</param>
/// <param name="Shard">this replica's shard in that view: only reports of handoffs to it count</param>
/// <param name="Exempt">nodes this replica never waits for when a report names them in <see cref="HandoffReport.Awaits"/>:
/// itself and the peers that stay in its shard with it, which keep whatever of the shard's keys they hold (and never
/// report to their own shard)</param>
public sealed record HandoffFenceLayer(long Epoch, HashRing OldRing, IReadOnlyList<PendingHandoff> Pending, IReadOnlyList<HandoffReport> Reports,
    string? Shard = null, IReadOnlySet<int>? Exempt = null)
{
    public PendingHandoff? PendingFor(string shard) => Pending.FirstOrDefault(p => string.Equals(p.Shard, shard, StringComparison.Ordinal));
}

/// <summary>An old shard not lifted yet: the nodes of it that must still report, and the writes the reports named.</summary>
/// <param name="Superseded">for a node whose report of a later view replaced what it had named of its own writes here,
/// that view's epoch: a report of an older view arriving after it changes nothing</param>
/// <param name="Inherited">nodes of <paramref name="Outstanding"/> that are there because a report named them in
/// <see cref="HandoffReport.Awaits"/>, or because they join this replica's shard from none
/// (<see cref="HandoffPlan.JoiningPeers"/>), not because they were in the old shard: a report of theirs counts whichever
/// old shard it names</param>
public sealed record PendingHandoff(string Shard, IReadOnlySet<int> Outstanding, Frontier Requires,
    IReadOnlyDictionary<int, long>? Superseded = null, IReadOnlySet<int>? Inherited = null)
{
    /// <summary>True when a report from <paramref name="report"/>'s node, of this layer's own epoch, settles part of this.</summary>
    internal bool AwaitsReportOf(HandoffReport report) =>
        Outstanding.Contains(report.Node)
        && (string.Equals(Shard, report.Shard, StringComparison.Ordinal) || Inherited?.Contains(report.Node) == true);
}

/// <summary>
/// Which keys a replica may not answer for yet after view changes: those whose old shard's handoff has not reached
/// it. Pure and immutable: every change returns a new state.
/// <para>
/// Invariant: an old shard is lifted only when every node of it (in the old view) reported its handoff complete
/// and this replica's applied frontier covers every write those reports require. A report requires the writes
/// the handed-off keys were imported as, on whichever replica of the gaining shard acknowledged them (or on the
/// reporting node itself, when it joined the gaining shard and kept the keys). A replica that hears of a report
/// in gossip therefore lifts its fence only once ordinary replication brought it the keys, never before.
/// </para>
/// <para>
/// A report stands for what its sender held when its handoff went over its store. Keys still on their way to the
/// sender then (its own fence still waited for their senders: a handoff that failed, a view that replaced it before
/// it finished) were not in it, so the report names those senders (<see cref="HandoffReport.Awaits"/>), and the shard
/// waits for their reports as well: "done" is passed on across views, not taken for the whole chain on the word of
/// its last link.
/// </para>
/// <para>
/// Each view change adds a layer; a later view does not lift what an earlier one still waits for (the keys are
/// still on their way), so layers stay until lifted, and reports count for the layer of their epoch. The
/// <see cref="KeptLayers"/> newest layers stay, lifted or not, to pass their reports on in gossip.
/// </para>
/// </summary>
public sealed class HandoffFenceState
{
    /// <summary>How many of the newest layers are kept once lifted, for their reports (older ones go once lifted).</summary>
    public const int KeptLayers = 4;

    private static HandoffFenceLayer[] Trim(IReadOnlyList<HandoffFenceLayer> layers) =>
        layers.Where((l, i) => l.Pending.Count > 0 || i >= layers.Count - KeptLayers).ToArray();

    /// <summary>No fence: nothing is pending.</summary>
    public static readonly HandoffFenceState None = new([], []);

    private HandoffFenceState(IReadOnlyList<HandoffFenceLayer> layers, IReadOnlyList<(long Epoch, HandoffReport Report)> early)
    {
        Layers = layers;
        Early = early;
    }

    /// <summary>The view changes whose handoffs are still awaited (oldest first), and the newest in any case.</summary>
    public IReadOnlyList<HandoffFenceLayer> Layers { get; }

    private HandoffFenceLayer? Newest => Layers.Count == 0 ? null : Layers[^1];

    /// <summary>The epoch of the newest view the fence belongs to.</summary>
    public long Epoch => Newest?.Epoch ?? 0;

    /// <summary>The ring that says which old shard held a key, for the newest view change.</summary>
    public HashRing? OldRing => Newest?.OldRing;

    /// <summary>Every report heard for <see cref="Epoch"/>.</summary>
    public IReadOnlyList<HandoffReport> Reports => Newest?.Reports ?? [];

    /// <summary>Every report of every layer with its epoch (passed on in gossip to the replicas that missed them).</summary>
    public IReadOnlyList<(long Epoch, HandoffReport Report)> AllReports =>
        Layers.SelectMany(l => l.Reports.Select(r => (l.Epoch, r))).ToArray();

    /// <summary>Reports heard for a later epoch than this replica's view: they apply once that view is installed.</summary>
    public IReadOnlyList<(long Epoch, HandoffReport Report)> Early { get; }

    /// <summary>Old shards not lifted yet, in any layer (sorted ordinal).</summary>
    public IReadOnlyList<string> PendingShards =>
        Layers.SelectMany(l => l.Pending.Select(p => p.Shard)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    /// <summary>True while some old shard is not lifted.</summary>
    public bool AnyPending => Layers.Any(l => l.Pending.Count > 0);

    /// <summary>True when some old shard has every report and waits only for writes to arrive (see <see cref="Lift"/>).</summary>
    public bool AwaitsWrites => Layers.Any(l => l.Pending.Any(p => p.Outstanding.Count == 0));

    /// <summary>Every node some layer still waits to hear from: the old nodes of a shard not lifted that have not reported.</summary>
    public IReadOnlySet<int> Awaited => Layers.SelectMany(l => l.Pending).SelectMany(p => p.Outstanding).ToHashSet();

    /// <summary>The old nodes of <paramref name="shard"/> that have not reported, in the newest layer that waits for it.</summary>
    public IReadOnlySet<int> Outstanding(string shard) => NewestPending(shard)?.Outstanding ?? new HashSet<int>();

    /// <summary>What this replica must hold before <paramref name="shard"/> lifts, in the newest layer that waits for it.</summary>
    public Frontier Requires(string shard) => NewestPending(shard)?.Requires ?? Frontier.Empty;

    private PendingHandoff? NewestPending(string shard)
    {
        for (var i = Layers.Count - 1; i >= 0; i--)
            if (Layers[i].PendingFor(shard) is { } p) return p;
        return null;
    }

    /// <summary>True when a read of <paramref name="key"/> must not answer yet.</summary>
    public bool IsPending(string key)
    {
        foreach (var layer in Layers)
            if (layer.Pending.Count > 0 && layer.PendingFor(layer.OldRing.ShardFor(key)) is not null) return true;
        return false;
    }

    /// <summary>
    /// A new view: keys that belonged to a shard of <paramref name="sources"/> under <paramref name="oldRing"/> are
    /// fenced until every listed node of that shard reported and the reported writes are here. Reports that arrived
    /// early for this epoch count at once. Earlier layers still waiting stay, unless this replica was in another shard
    /// when they began: what they fenced was on its way to that shard, not to this replica's.
    /// </summary>
    /// <param name="shard">this replica's shard in the new view (reports of handoffs to other shards do not count)</param>
    /// <remarks>
    /// A replica that moved shards would otherwise wait for good: the layers of its old shard wait for reports sent to
    /// that shard and for writes its replicas imported, which never reach a replica of another shard, and nodes of its
    /// new shard never report to their own shard. It need not wait: what its new shard gains comes from every old shard
    /// by handoff, fenced in the layer of the move, or from the members that stayed, by catch-up.
    /// </remarks>
    /// <param name="exempt">the nodes never waited for when a report names them (<see cref="HandoffFenceLayer.Exempt"/>)</param>
    /// <param name="joining">nodes of <paramref name="sources"/> that were in no shard of the old view
    /// (<see cref="HandoffPlan.JoiningPeers"/>): a report of theirs counts whichever old shard it names, as an inherited
    /// node's does (<see cref="PendingHandoff.Inherited"/>)</param>
    public HandoffFenceState Begin(long epoch, HashRing oldRing, IReadOnlyDictionary<string, IReadOnlySet<int>> sources, string? shard = null,
        IReadOnlySet<int>? exempt = null, IReadOnlySet<int>? joining = null)
    {
        ArgumentNullException.ThrowIfNull(oldRing);
        ArgumentNullException.ThrowIfNull(sources);
        var pending = sources.Select(s => new PendingHandoff(s.Key, s.Value.ToHashSet(), Frontier.Empty,
            Inherited: s.Value.Where(n => joining?.Contains(n) == true).ToHashSet() is { Count: > 0 } j ? j : null)).ToArray();
        var earlier = Layers.Where(l => l.Epoch < epoch).Select(l =>
            shard is not null && l.Shard is not null && l.Pending.Count > 0 && !string.Equals(l.Shard, shard, StringComparison.Ordinal)
                ? l with { Pending = [] }
                : l);
        var layers = Trim(earlier.Append(new HandoffFenceLayer(epoch, oldRing, pending, [], shard, exempt)).ToArray());
        var state = new HandoffFenceState(layers, Early.Where(e => e.Epoch > epoch).ToArray());
        foreach (var (e, report) in Early)
            if (e == epoch) state = state.Report(epoch, report);
        return state;
    }

    /// <summary>
    /// A new view in which this replica is in no shard: it answers for no key any more, so nothing it waited for stays
    /// pending (the reports it waited for went to its old shard's other replicas, or to nobody once that shard was gone,
    /// and their senders stop sending them). The reports heard stay, as after a lift.
    /// </summary>
    /// <remarks>
    /// Kept, an earlier layer would wait for reports that no longer come to this node, until the fence timeout lifts
    /// it. A later view that puts the node in a shard again fences that shard anew: it joins it, and joining waits for
    /// the catch-up and for every old shard's handoff.
    /// </remarks>
    public HandoffFenceState Leave(long epoch, HashRing oldRing) =>
        Begin(epoch, oldRing, new Dictionary<string, IReadOnlySet<int>>()).Clear();

    /// <summary>
    /// <paramref name="report"/>.Node finished handing off the keys of its old shard for <paramref name="epoch"/>.
    /// It counts for that epoch's layer and for every earlier one, whichever shard the node was in then: a later
    /// handoff goes over the node's whole store, so a node that finished one has handed off (or kept, under the later
    /// view) whatever an earlier one still owed, also when a newer view replaced that one before its report went out,
    /// and keys it adopted as its own writes then are named again by the writes they became. Reports of a
    /// newer epoch than any layer are kept for <see cref="Begin"/>. Returns this state when nothing changed.
    /// </summary>
    public HandoffFenceState Report(long epoch, HandoffReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (epoch > Epoch)
        {
            if (Early.Any(e => e.Epoch == epoch && SameSender(e.Report, report))) return this;
            return new HandoffFenceState(Layers, [.. Early, (epoch, report)]);
        }
        var changed = false;
        var layers = Layers.ToArray();
        for (var i = layers.Length - 1; i >= 0; i--)
        {
            var layer = layers[i];
            if (layer.Epoch > epoch || !report.IsFor(layer.Shard)) continue;
            var pending = layer.Pending;
            var reports = layer.Epoch == epoch && !layer.Reports.Any(r => SameSender(r, report)) ? [.. layer.Reports, report] : layer.Reports;
            // Nodes a report names as still owing keys: not those this replica already heard from for this layer
            // (or a later one, whose handoff went over their whole store), nor those it never waits for.
            var awaits = (report.Awaits ?? []).Where(n => n != report.Node && layer.Exempt?.Contains(n) != true
                && !layers.Skip(i).Any(l => l.Reports.Any(r => r.Node == n))).ToHashSet();
            if (layer.Epoch == epoch)
            {
                if (layer.Pending.Any(p => p.AwaitsReportOf(report)))
                    pending = layer.Pending.Select(p => p.AwaitsReportOf(report) ? Reported(p, report, supersededAt: null, awaits) : p).ToArray();
            }
            else if (layer.Pending.Any(p => Supersedes(p, epoch, report.Node)))
            {
                // An earlier layer: the node may have been in another shard then, and may have adopted keys as its own
                // writes there (named in its report). Its later handoff went over its whole store, those keys included:
                // what this shard still owns of them it handed over again, and this report names the writes they became.
                // Always a change: each superseded part records this epoch.
                pending = layer.Pending.Select(p => Supersedes(p, epoch, report.Node) ? Reported(p, report, supersededAt: epoch, awaits) : p).ToArray();
            }
            if (ReferenceEquals(pending, layer.Pending) && ReferenceEquals(reports, layer.Reports)) continue;
            layers[i] = layer with { Pending = pending, Reports = reports };
            changed = true;
        }
        return changed ? new HandoffFenceState(layers, Early) : this;
    }

    /// <summary>
    /// The nodes whose keys were still on their way to this replica under a view older than <paramref name="epoch"/>:
    /// those that have not reported in a layer still waiting, and, where every report is in but the writes it named
    /// are not here yet, the replicas that imported them. A handoff that goes over this replica's store before they
    /// arrive names them in its report (<see cref="HandoffReport.Awaits"/>).
    /// </summary>
    public IReadOnlySet<int> AwaitedBefore(long epoch) =>
        Layers.Where(l => l.Epoch < epoch).SelectMany(l => l.Pending)
            .SelectMany(p => p.Outstanding.Count > 0 ? p.Outstanding : p.Requires.Select(e => OriginId.NodeOf(e.Key)))
            .ToHashSet();

    /// <summary>Whether a report of <paramref name="epoch"/> from <paramref name="node"/> changes <paramref name="pending"/> of an earlier layer.</summary>
    private static bool Supersedes(PendingHandoff pending, long epoch, int node) =>
        (pending.Outstanding.Contains(node) || pending.Requires.Any(e => OriginId.NodeOf(e.Key) == node))
        && (pending.Superseded?.GetValueOrDefault(node) ?? 0) < epoch;

    /// <summary>
    /// <paramref name="pending"/> once <paramref name="report"/>'s node reported: it waits for that node no more, and for
    /// the writes the report names too, and for the nodes the report still awaited (<paramref name="awaits"/>). A report
    /// of a later view (<paramref name="supersededAt"/>) replaces what was named here of the node's own writes (keys it
    /// adopted or imported then, handed over again since).
    /// </summary>
    private static PendingHandoff Reported(PendingHandoff pending, HandoffReport report, long? supersededAt, IReadOnlySet<int> awaits)
    {
        var outstanding = pending.Outstanding.Where(n => n != report.Node).Union(awaits).ToHashSet();
        var inherited = pending.Inherited?.Where(n => n != report.Node).Union(awaits).ToHashSet() ?? (awaits.Count > 0 ? awaits.ToHashSet() : null);
        var kept = supersededAt is null ? pending.Requires : Frontier.Of(pending.Requires.Where(kv => OriginId.NodeOf(kv.Key) != report.Node));
        var requires = kept.Merge(report.Requires);
        var superseded = pending.Superseded;
        if (supersededAt is { } at) superseded = new Dictionary<int, long>(superseded ?? new Dictionary<int, long>()) { [report.Node] = at };
        return new PendingHandoff(pending.Shard, outstanding, requires, superseded, inherited is { Count: > 0 } ? inherited : null);
    }

    /// <summary>
    /// Lifts every old shard whose nodes all reported and whose required writes <paramref name="applied"/> (this
    /// replica's gap-free frontier) covers. Returns this state when nothing lifted.
    /// </summary>
    public HandoffFenceState Lift(Frontier applied)
    {
        if (!AwaitsWrites) return this;
        var changed = false;
        var layers = new List<HandoffFenceLayer>();
        foreach (var layer in Layers)
        {
            var pending = layer.Pending.Where(p => p.Outstanding.Count > 0 || !applied.Covers(p.Requires)).ToArray();
            changed |= pending.Length != layer.Pending.Count;
            layers.Add(pending.Length == layer.Pending.Count ? layer : layer with { Pending = pending });
        }
        return changed ? new HandoffFenceState(Trim(layers), Early) : this;
    }

    /// <summary>Lifts every fence at once (the old shard never reported: its nodes are gone).</summary>
    public HandoffFenceState Clear() =>
        !AnyPending ? this : new HandoffFenceState(Trim(Layers.Select(l => l with { Pending = [] }).ToArray()), Early);

    /// <summary>
    /// The state a node wrote down before it stopped (<see cref="Layers"/> and <see cref="Early"/>), so that a restart
    /// resumes the fence where it was instead of answering "absent" for keys still on their way.
    /// </summary>
    public static HandoffFenceState Restore(IEnumerable<HandoffFenceLayer> layers, IEnumerable<(long Epoch, HandoffReport Report)> early)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(early);
        return new HandoffFenceState(layers.OrderBy(l => l.Epoch).ToArray(), early.ToArray());
    }

    private static bool SameSender(HandoffReport a, HandoffReport b) =>
        a.Node == b.Node && string.Equals(a.Shard, b.Shard, StringComparison.Ordinal) && string.Equals(a.To, b.To, StringComparison.Ordinal);
}
