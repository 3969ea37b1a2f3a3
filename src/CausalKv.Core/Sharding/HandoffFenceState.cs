using CausalKv.Causality;

namespace CausalKv.Sharding;

/// <summary>
/// One old shard's handoff as a replica of a gaining shard has heard of it: who must still report, and what the
/// reports say this replica must hold.
/// </summary>
public sealed record HandoffReport(string Shard, int Node, IReadOnlyDictionary<long, long> Requires);

/// <summary>
/// Which keys a replica may not yet answer "absent" for after a view change: those whose old shard's handoff has
/// not reached it. Pure and immutable: every change returns a new state.
/// <para>
/// Invariant: an old shard is lifted only when every node of it (in the old view) reported its handoff complete
/// and this replica's applied frontier covers every write those reports require. A report requires the writes
/// the handed-off keys were imported as, on whichever replica of the gaining shard acknowledged them (or on the
/// reporting node itself, when it joined the gaining shard and kept the keys). A replica that hears of a report
/// in gossip therefore lifts its fence only once ordinary replication brought it the keys, never before.
/// </para>
/// </summary>
public sealed class HandoffFenceState
{
    private static readonly IReadOnlyDictionary<long, long> NoFrontier = new Dictionary<long, long>();

    /// <summary>No fence: nothing is pending.</summary>
    public static readonly HandoffFenceState None = new(0, null, new Dictionary<string, Source>(StringComparer.Ordinal), [], []);

    private readonly IReadOnlyDictionary<string, Source> _pending;

    private HandoffFenceState(long epoch, HashRing? oldRing, IReadOnlyDictionary<string, Source> pending,
        IReadOnlyList<HandoffReport> reports, IReadOnlyList<(long Epoch, HandoffReport Report)> early)
    {
        Epoch = epoch;
        OldRing = oldRing;
        _pending = pending;
        Reports = reports;
        Early = early;
    }

    private sealed record Source(IReadOnlySet<int> Outstanding, IReadOnlyDictionary<long, long> Requires);

    /// <summary>The epoch of the view the fence belongs to.</summary>
    public long Epoch { get; }

    /// <summary>The ring that says which old shard held a key.</summary>
    public HashRing? OldRing { get; }

    /// <summary>Every report heard for <see cref="Epoch"/> (passed on in gossip to the replicas that missed them).</summary>
    public IReadOnlyList<HandoffReport> Reports { get; }

    /// <summary>Reports heard for a later epoch than this replica's view: they apply once that view is installed.</summary>
    public IReadOnlyList<(long Epoch, HandoffReport Report)> Early { get; }

    /// <summary>Old shards not lifted yet (sorted ordinal).</summary>
    public IReadOnlyList<string> PendingShards => _pending.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>True while some old shard is not lifted.</summary>
    public bool AnyPending => _pending.Count > 0;

    /// <summary>True when some old shard has every report and waits only for writes to arrive (see <see cref="Lift"/>).</summary>
    public bool AwaitsWrites => _pending.Values.Any(s => s.Outstanding.Count == 0);

    /// <summary>The old nodes of <paramref name="shard"/> that have not reported (empty if the shard is not pending).</summary>
    public IReadOnlySet<int> Outstanding(string shard) =>
        _pending.TryGetValue(shard, out var s) ? s.Outstanding : new HashSet<int>();

    /// <summary>What this replica must hold before <paramref name="shard"/> lifts (empty if it is not pending).</summary>
    public IReadOnlyDictionary<long, long> Requires(string shard) =>
        _pending.TryGetValue(shard, out var s) ? s.Requires : NoFrontier;

    /// <summary>True when a read of <paramref name="key"/> must not answer "absent" yet.</summary>
    public bool IsPending(string key) =>
        _pending.Count > 0 && OldRing is not null && _pending.ContainsKey(OldRing.ShardFor(key));

    /// <summary>
    /// A new view: keys that belonged to a shard of <paramref name="sources"/> under <paramref name="oldRing"/> are
    /// fenced until every listed node of that shard reported and the reported writes are here. Reports that arrived
    /// early for this epoch count at once.
    /// </summary>
    public HandoffFenceState Begin(long epoch, HashRing oldRing, IReadOnlyDictionary<string, IReadOnlySet<int>> sources)
    {
        ArgumentNullException.ThrowIfNull(oldRing);
        ArgumentNullException.ThrowIfNull(sources);
        var pending = new Dictionary<string, Source>(StringComparer.Ordinal);
        foreach (var (shard, nodes) in sources) pending[shard] = new Source(nodes.ToHashSet(), NoFrontier);
        var state = new HandoffFenceState(epoch, oldRing, pending, [], Early.Where(e => e.Epoch > epoch).ToArray());
        foreach (var (e, report) in Early)
            if (e == epoch) state = state.Report(epoch, report);
        return state;
    }

    /// <summary>
    /// <paramref name="report"/>.Node finished handing off the keys of its old shard for <paramref name="epoch"/>.
    /// Reports of older epochs are ignored; those of newer ones are kept for <see cref="Begin"/>. Returns this
    /// state when nothing changed.
    /// </summary>
    public HandoffFenceState Report(long epoch, HandoffReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (epoch > Epoch)
        {
            if (Early.Any(e => e.Epoch == epoch && SameSender(e.Report, report))) return this;
            return new HandoffFenceState(Epoch, OldRing, _pending, Reports, [.. Early, (epoch, report)]);
        }
        if (epoch < Epoch || Reports.Any(r => SameSender(r, report))) return this;
        var pending = _pending;
        if (_pending.TryGetValue(report.Shard, out var source) && source.Outstanding.Contains(report.Node))
        {
            var outstanding = source.Outstanding.ToHashSet();
            outstanding.Remove(report.Node);
            var requires = new Dictionary<long, long>(source.Requires);
            StableFrontier.JoinInto(requires, report.Requires);
            pending = new Dictionary<string, Source>(_pending, StringComparer.Ordinal) { [report.Shard] = new Source(outstanding, requires) };
        }
        return new HandoffFenceState(Epoch, OldRing, pending, [.. Reports, report], Early);
    }

    /// <summary>
    /// Lifts every old shard whose nodes all reported and whose required writes <paramref name="applied"/> (this
    /// replica's gap-free frontier) covers. Returns this state when nothing lifted.
    /// </summary>
    public HandoffFenceState Lift(IReadOnlyDictionary<long, long> applied)
    {
        ArgumentNullException.ThrowIfNull(applied);
        var lifted = _pending.Where(s => s.Value.Outstanding.Count == 0 && Covers(applied, s.Value.Requires)).Select(s => s.Key).ToList();
        if (lifted.Count == 0) return this;
        var pending = new Dictionary<string, Source>(_pending, StringComparer.Ordinal);
        foreach (var shard in lifted) pending.Remove(shard);
        return new HandoffFenceState(Epoch, OldRing, pending, Reports, Early);
    }

    /// <summary>
    /// The state a node wrote down before it stopped (see <see cref="Epoch"/>, <see cref="OldRing"/>,
    /// <see cref="PendingShards"/> with <see cref="Outstanding"/> and <see cref="Requires"/>, <see cref="Reports"/>,
    /// <see cref="Early"/>), so that a restart resumes the fence where it was instead of answering "absent" for keys
    /// still on their way.
    /// </summary>
    public static HandoffFenceState Restore(long epoch, HashRing? oldRing,
        IEnumerable<(string Shard, IReadOnlySet<int> Outstanding, IReadOnlyDictionary<long, long> Requires)> pending,
        IEnumerable<HandoffReport> reports, IEnumerable<(long Epoch, HandoffReport Report)> early)
    {
        ArgumentNullException.ThrowIfNull(pending);
        var sources = new Dictionary<string, Source>(StringComparer.Ordinal);
        foreach (var (shard, outstanding, requires) in pending) sources[shard] = new Source(outstanding.ToHashSet(), new Dictionary<long, long>(requires));
        if (sources.Count > 0 && oldRing is null) throw new ArgumentException("A pending fence needs the ring that says which old shard held a key.", nameof(oldRing));
        return new HandoffFenceState(epoch, oldRing, sources, reports.ToArray(), early.ToArray());
    }

    /// <summary>Lifts every fence at once (the old shard never reported: its nodes are gone).</summary>
    public HandoffFenceState Clear() =>
        _pending.Count == 0 ? this : new HandoffFenceState(Epoch, OldRing, new Dictionary<string, Source>(StringComparer.Ordinal), Reports, Early);

    private static bool SameSender(HandoffReport a, HandoffReport b) =>
        a.Node == b.Node && string.Equals(a.Shard, b.Shard, StringComparison.Ordinal);

    private static bool Covers(IReadOnlyDictionary<long, long> applied, IReadOnlyDictionary<long, long> required)
    {
        foreach (var (origin, seq) in required)
            if (applied.GetValueOrDefault(origin) < seq) return false;
        return true;
    }
}
