using CausalKv.Causality;
using CausalKv.Storage;

namespace CausalKv.Replication;

/// <summary>
/// One replica's state: the versions of its keys, and for every origin the
/// gap-free frontier of writes it holds (its causal context) with the log of
/// keys those writes touched.
/// Invariant: for every origin o and every write (o, s) with s &lt;= Applied[o],
/// this replica's version of that write's key has a clock with entry o &gt;= s.
/// So a peer that knows our frontier can send exactly the writes we lack, and
/// the pointwise minimum of the shard's frontiers is what every replica holds.
/// A key that left the shard is the one exception: once the sender handed it off
/// (<see cref="RemoveIfUnchanged"/>, only after the new shard acknowledged it) a
/// diff names the writes to it without its version, so a copy still here may lack
/// them until it is handed off too (the versions merge in the new shard) or the
/// key comes back. It comes back with its whole clock, logged again as an
/// <see cref="Import"/>, and replication carries that import with the version.
/// A copy at a replica that still follows a view under which the key is its shard's would be answered: such a replica
/// takes no batch made under a newer view than its own (the node's replication refuses it), so its frontier never
/// names a write to a key it serves without holding it.
/// The logs keep keys only (never values) and together take at most <see cref="LogBytesLimit"/>: past it the oldest
/// entries go, even those a peer still lacks, and that peer is served by a scan of the store instead
/// (<see cref="BeginSnapshot"/> with its frontier: every version with a dot above it), so a peer away for any time
/// costs this replica bounded memory and, when it is back, gets exactly the versions it lacks.
/// Reads are lock-free; every mutation takes one short lock and ends in one commit of the
/// <see cref="IVersionTable"/>, versions before the frontier that names their writes.
/// </summary>
public sealed class ReplicaStore : IDisposable
{
    private readonly object _gate = new();
    private readonly IVersionTable _table;
    /// <summary>Moves on every write (one dictionary update); read as a <see cref="Frontier"/> built once per change.</summary>
    private readonly FrontierBuilder _applied = new();
    private readonly Dictionary<long, OriginLog> _logs = [];
    private readonly ChangeSignal _changed = new();
    private readonly TimeProvider _time;
    private readonly LogBudget _budget;
    private long _origin;
    private long _seq;
    private long _incarnation;
    private long _lastCommit;

    /// <summary>A batch stops growing past this many bytes of keys and values (large values make few-entry batches).</summary>
    public const long MaxBatchBytes = 4 * 1024 * 1024;

    /// <summary>What the key logs may take unless the replica is told otherwise (about 400,000 writes of 20-character keys).</summary>
    public const long DefaultLogBytesLimit = 32L * 1024 * 1024;

    /// <param name="time">the clock of write tags and incarnations</param>
    /// <param name="table">where versions and the frontier live; what it holds already is this replica's state at start. None keeps the replica in memory only.</param>
    /// <param name="logBytesLimit">what the key logs may take together (see <see cref="LogBytesLimit"/>)</param>
    public ReplicaStore(TimeProvider time, IVersionTable? table = null, long logBytesLimit = DefaultLogBytesLimit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(logBytesLimit);
        _time = time;
        _budget = new LogBudget(logBytesLimit);
        _table = table ?? new MemoryVersionTable();
        foreach (var (o, seq) in _table.LoadApplied())
        {
            _applied.Raise(o, seq);
            // The keys of these writes are not known any more: a peer lacking them is served by a scan of the store.
            _logs[o] = new OriginLog(seq, _budget);
        }
        Recovered = _table.Count;
    }

    /// <summary>
    /// What the key logs may take together (each entry is charged its slot and its key string). Past it the oldest
    /// entries are dropped (down to three quarters of it, so that a replica over it does not shed on every write);
    /// a peer that still lacked them catches up by a scan of the store.
    /// </summary>
    public long LogBytesLimit => _budget.Limit;

    /// <summary>What the key logs take now.</summary>
    public long LogBytes
    {
        get { lock (_gate) return _budget.Used; }
    }

    /// <summary>Log entries dropped over <see cref="LogBytesLimit"/> since start (not because every replica held them).</summary>
    public long LogEntriesShed
    {
        get { lock (_gate) return _budget.Shed; }
    }

    /// <summary>Keys the table held at start.</summary>
    public long Recovered { get; }

    public bool Durable => _table.Durable;

    /// <summary>
    /// Completes once every change made so far is as durable as the table promises (see
    /// <see cref="IVersionTable.WhenDurableAsync"/>); await it after a write, outside any lock, before acknowledging.
    /// </summary>
    public ValueTask WhenDurableAsync(CancellationToken ct = default) => _table.WhenDurableAsync(Volatile.Read(ref _lastCommit), ct);

    public ChangeSignal Changed => _changed;

    public long Origin => Volatile.Read(ref _origin);

    public long Count => _table.Count;

    /// <summary>Raised after a write accepted here (not one received from a peer).</summary>
    public event Action? LocalWrite;

    /// <summary>Begins a new origin for this node: at start, and whenever its shard changes.</summary>
    /// <param name="floor">an incarnation this node is known to have used already (kept outside the table, which can be
    /// lost): the new one is above it</param>
    public long StartIncarnation(int nodeId, long floor = 0)
    {
        lock (_gate)
        {
            _incarnation = Math.Max(_incarnation, floor);
            // A clock set back across a restart must not hand out an incarnation this node already wrote with: the
            // dots of that origin are in the log and at the peers, and reusing them would make new writes look held.
            foreach (var (origin, _) in _applied)
                if (OriginId.NodeOf(origin) == nodeId) _incarnation = Math.Max(_incarnation, OriginId.IncarnationOf(origin));
            _incarnation = OriginId.NextIncarnation(_incarnation, _time.GetUtcNow());
            _origin = OriginId.Create(nodeId, _incarnation);
            _seq = 0;
            _logs[_origin] = new OriginLog(0, _budget);
            return _origin;
        }
    }

    public StoredVersion? Get(string key) => _table.Get(key);

    /// <summary>Every key with its version (see <see cref="IVersionTable.All"/>).</summary>
    public IEnumerable<KeyValuePair<string, StoredVersion>> All => _table.All;

    /// <summary>The keys after <paramref name="after"/> that start with <paramref name="prefix"/>, in <see cref="KeyOrder"/> (see <see cref="IVersionTable.Range"/>).</summary>
    public IEnumerable<KeyValuePair<string, StoredVersion>> Range(string? after, string prefix) => _table.Range(after, prefix);

    /// <summary>Accepts a write (a null value deletes) and returns the version now stored.</summary>
    /// <param name="isStable">drops dependencies every replica already holds from what the version carries</param>
    public StoredVersion Write(string key, string? value, DependencySet session, int nodeId, Func<string, Dependency, bool>? isStable = null) =>
        Write(key, value, session, nodeId, isStable, out _);

    /// <inheritdoc cref="Write(string, string?, DependencySet, int, Func{string, Dependency, bool}?)"/>
    /// <param name="previous">the version the key held just before this write (null: none), read under the same lock</param>
    public StoredVersion Write(string key, string? value, DependencySet session, int nodeId, Func<string, Dependency, bool>? isStable,
        out StoredVersion? previous) =>
        Write(key, value, session, nodeId, isStable, out previous, out _);

    /// <inheritdoc cref="Write(string, string?, DependencySet, int, Func{string, Dependency, bool}?, out StoredVersion?)"/>
    /// <param name="dot">the write's own dot (this replica's origin and the sequence number it took): the version
    /// returned is the one this write made, so any version that includes the dot includes all of it
    /// (<see cref="CausalRead.AfterWriting"/>)</param>
    public StoredVersion Write(string key, string? value, DependencySet session, int nodeId, Func<string, Dependency, bool>? isStable,
        out StoredVersion? previous, out VersionVector.Entry dot)
    {
        StoredVersion stored;
        lock (_gate)
        {
            if (_origin == 0) throw new InvalidOperationException("No incarnation started.");
            var seq = ++_seq;
            var local = previous = _table.Get(key);
            session = Share(session, null);
            var written = StoredVersion.NewWrite(key, value, local, session, _origin, seq, nodeId, _time.GetUtcNow().ToUnixTimeMilliseconds());
            if (isStable is not null) written = written with { Dependencies = written.Dependencies.Prune(isStable) };
            stored = StoredVersion.Merge(local, written);
            dot = new VersionVector.Entry(_origin, seq);
            _table.Put(key, stored, local);
            _logs[_origin].Append(key);
            _applied.Raise(_origin, seq);
            _table.SetApplied(_origin, seq);
            ShedOverLimit();
            Committed();
        }
        _changed.Signal();
        LocalWrite?.Invoke();
        return stored;
    }

    /// <summary>
    /// Dependencies rebuilt on those of the stored version of their latest entry (plus that entry), when this replica
    /// holds exactly that version: what a session wrote after it saw that version (see <see cref="DependencySet.Rebase"/>).
    /// Caller holds the gate; <paramref name="pending"/> holds the versions put since the last commit.
    /// </summary>
    private DependencySet Share(DependencySet deps, Dictionary<string, StoredVersion>? pending)
    {
        // A table of encoded copies keeps no structure to share: the read would be wasted on every write.
        if (!_table.KeepsObjects || deps.Latest() is not { } latest || Current(latest.Key, pending) is not { } seen) return deps;
        var asDependency = seen.AsDependency();
        if (!asDependency.Equals(latest.Value)) return deps;
        return deps.Rebase(seen.Dependencies.With(latest.Key, asDependency));
    }

    /// <summary>
    /// Takes in versions handed off by the key's previous shard. Each import is
    /// logged as a write of this node's origin (its clock gains that dot), so the
    /// shard's ordinary replication spreads it and the stable frontier says when
    /// every replica of the shard has it. Returns the origin and the last sequence number used.
    /// </summary>
    public (long Origin, long Last) Import(IReadOnlyList<KeyValuePair<string, StoredVersion>> versions)
    {
        long last, origin;
        lock (_gate)
        {
            var pending = new Dictionary<string, StoredVersion>(StringComparer.Ordinal);
            foreach (var (key, incoming) in versions)
            {
                var local = Current(key, pending);
                var merged = StoredVersion.Merge(local, incoming);
                var seq = ++_seq;
                var imported = merged with { Clock = merged.Clock.With(_origin, seq) };
                _table.Put(key, imported, local);
                pending[key] = imported;
                _logs[_origin].Append(key);
                _applied.Raise(_origin, seq);
            }
            last = _seq;
            origin = _origin;
            if (versions.Count > 0) _table.SetApplied(_origin, last);
            ShedOverLimit();
            Committed();
        }
        _changed.Signal();
        if (versions.Count > 0) LocalWrite?.Invoke();
        return (origin, last);
    }

    /// <summary>The applied frontier as it stands (the same instance until it moves again).</summary>
    public Frontier AppliedSnapshot()
    {
        lock (_gate) return _applied.ToFrontier();
    }

    /// <summary>True when this replica holds every write <paramref name="frontier"/> names.</summary>
    public bool Covers(Frontier frontier)
    {
        lock (_gate) return _applied.Covers(frontier);
    }

    /// <summary>
    /// Merges what a peer sent. Ranges that would leave a gap in an origin's
    /// frontier are ignored (the versions still merge: merging is always safe).
    /// </summary>
    public ApplyResult Apply(IReadOnlyList<IncomingRange> ranges, IReadOnlyList<KeyValuePair<string, StoredVersion>> versions,
        Frontier? snapshotApplied)
    {
        int changedKeys = 0, gaps = 0;
        Frontier applied;
        lock (_gate)
        {
            var pending = new Dictionary<string, StoredVersion>(StringComparer.Ordinal);
            foreach (var (key, received) in versions)
            {
                var local = Current(key, pending);
                var shared = Share(received.Dependencies, pending);
                var incoming = ReferenceEquals(shared, received.Dependencies) ? received : received with { Dependencies = shared };
                var merged = StoredVersion.Merge(local, incoming);
                if (ReferenceEquals(merged, local)) continue;
                _table.Put(key, merged, local);
                pending[key] = merged;
                changedKeys++;
            }
            var frontierMoved = false;
            foreach (var range in ranges)
            {
                var mine = _applied.Get(range.Origin);
                if (range.After > mine) { gaps++; continue; }
                if (!_logs.TryGetValue(range.Origin, out var log))
                    _logs[range.Origin] = log = new OriginLog(mine, _budget);
                if (log.Last != mine) log.Reset(mine);
                for (var i = (int)(mine - range.After); i < range.Keys.Count; i++) log.Append(range.Keys[i]);
                var upTo = range.After + range.Keys.Count;
                if (upTo <= mine) continue;
                _applied.Raise(range.Origin, upTo);
                _table.SetApplied(range.Origin, upTo);
                frontierMoved = true;
            }
            if (snapshotApplied is { } snapshot)
            {
                foreach (var (o, s) in snapshot)
                {
                    if (!_applied.Raise(o, s)) continue;
                    _table.SetApplied(o, s);
                    frontierMoved = true;
                    if (_logs.TryGetValue(o, out var log)) log.Reset(s); else _logs[o] = new OriginLog(s, _budget);
                }
            }
            ShedOverLimit();
            applied = _applied.ToFrontier();
            if (changedKeys > 0 || frontierMoved) Committed();
        }
        if (changedKeys > 0 || ranges.Count > 0 || snapshotApplied is not null) _changed.Signal();
        return new ApplyResult(applied, changedKeys, gaps);
    }

    /// <summary>
    /// The writes a peer whose frontier is <paramref name="peerApplied"/> lacks,
    /// at most <paramref name="budget"/> log entries, with the current version of
    /// every key they touched. Null when the peer lacks nothing; a batch with
    /// <see cref="OutgoingBatch.NeedsSnapshot"/> when the log no longer reaches back
    /// far enough and the peer needs the whole state.
    /// </summary>
    public OutgoingBatch? Diff(Frontier peerApplied, int budget)
    {
        var ranges = new List<IncomingRange>();
        lock (_gate)
        {
            foreach (var (origin, mine) in _applied)
            {
                var theirs = peerApplied.Get(origin);
                if (theirs >= mine) continue;
                var log = _logs[origin];
                if (theirs < log.Floor) return OutgoingBatch.Snapshot;
                if (budget <= 0) break;
                var upTo = Math.Min(mine, theirs + budget);
                var rangeKeys = new List<string>((int)(upTo - theirs));
                for (var s = theirs + 1; s <= upTo; s++) rangeKeys.Add(log.KeyAt(s));
                budget -= rangeKeys.Count;
                ranges.Add(new IncomingRange(origin, theirs, rangeKeys));
            }
        }
        if (ranges.Count == 0) return null;
        // Versions are read after the gate (reading a table on disk must not hold up writers): a version read later
        // includes at least the writes the ranges name, as versions only grow by merging. Past the byte bound the
        // ranges are cut short, to a prefix of each origin's writes, so they name only writes whose version is sent.
        var versions = new List<KeyValuePair<string, StoredVersion>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        for (var r = 0; r < ranges.Count; r++)
        {
            var keys = ranges[r].Keys;
            for (var i = 0; i < keys.Count; i++)
            {
                if (bytes >= MaxBatchBytes)
                {
                    ranges[r] = ranges[r] with { Keys = keys.Take(i).ToList() };
                    ranges.RemoveRange(r + 1, ranges.Count - r - 1);
                    if (i == 0) ranges.RemoveAt(r);
                    return new OutgoingBatch(ranges, versions, null, false);
                }
                var k = keys[i];
                if (!seen.Add(k) || _table.Get(k) is not { } v) continue; // a key handed off since is the new shard's now
                versions.Add(new(k, v));
                bytes += v.ApproximateWireBytes(k);
            }
        }
        return new OutgoingBatch(ranges, versions, null, false);
    }

    /// <summary>
    /// The frontier every key's current version includes, and an enumeration of the keys started after it was taken:
    /// each version it yields includes at least what the frontier names for its key. Dispose the enumerator when done.
    /// </summary>
    /// <param name="peerApplied">the frontier of the peer the snapshot is for: only versions with a dot above it are
    /// yielded (a version whose every dot the peer holds, it holds too, or a version that includes it). None yields
    /// every version.</param>
    /// <remarks>
    /// Why the frontier may be claimed after a filtered scan: for a write (o, s) the frontier names, this replica's
    /// version of its key has a dot o &gt;= s; if the peer's frontier names the write too the peer holds it, else that
    /// dot is above the peer's frontier and the version is sent. Versions only grow, so one read later passes too.
    /// </remarks>
    public (IEnumerator<KeyValuePair<string, StoredVersion>> Versions, Frontier Applied) BeginSnapshot(Frontier? peerApplied = null)
    {
        lock (_gate)
        {
            var applied = _applied.ToFrontier();
            if (peerApplied is not { } peer) return (_table.All.GetEnumerator(), applied);
            return (Lacking(_table.All.GetEnumerator(), peer), applied);
        }
    }

    private static IEnumerator<KeyValuePair<string, StoredVersion>> Lacking(IEnumerator<KeyValuePair<string, StoredVersion>> all,
        Frontier peerApplied)
    {
        using (all)
            while (all.MoveNext())
                if (!all.Current.Value.Clock.IsCoveredBy(peerApplied)) yield return all.Current;
    }

    /// <summary>Drops log entries every replica holds; nobody will ask for them again.</summary>
    public void TrimLogs(Frontier stable)
    {
        lock (_gate)
        {
            foreach (var (origin, log) in _logs)
                if (stable.TryGetValue(origin, out var s)) log.TrimTo(Math.Min(s, log.Last));
            ShedOverLimit();
        }
    }

    /// <summary>
    /// Over the bound, drops the oldest entries of the largest logs until they take three quarters of it: what a
    /// peer that is away still lacks, the others hold already. Caller holds the gate.
    /// </summary>
    private void ShedOverLimit()
    {
        if (_budget.Used <= _budget.Limit) return;
        var target = _budget.Limit / 4 * 3;
        while (_budget.Used > target)
        {
            OriginLog? largest = null;
            foreach (var log in _logs.Values)
                if (largest is null || log.Bytes > largest.Bytes) largest = log;
            if (largest is null || largest.Bytes == 0) return;
            var before = largest.Count;
            largest.ShedTo(Math.Max(0, largest.Bytes - (_budget.Used - target)));
            _budget.Shed += before - largest.Count;
        }
    }

    /// <summary>
    /// Removes keys handed off to their new shard, unless a newer version arrived
    /// since it was sent (that one is handed off next time). Their writes stay in
    /// the frontier: this replica did hold them.
    /// </summary>
    public int RemoveIfUnchanged(IEnumerable<KeyValuePair<string, StoredVersion>> sent)
    {
        var removed = 0;
        lock (_gate)
        {
            foreach (var (key, version) in sent)
            {
                if (_table.Get(key) is not { } current || !current.SameStateAs(version)) continue;
                _table.Remove(key, current);
                removed++;
            }
            if (removed > 0) Committed();
        }
        _changed.Signal();
        return removed;
    }

    /// <summary>The version of <paramref name="key"/> as this batch left it. Caller holds the gate.</summary>
    private StoredVersion? Current(string key, Dictionary<string, StoredVersion>? pending) =>
        pending is not null && pending.TryGetValue(key, out var v) ? v : _table.Get(key);

    /// <summary>Commits the table. Caller holds the gate.</summary>
    private void Committed() => Volatile.Write(ref _lastCommit, _table.Commit());

    public void Dispose()
    {
        lock (_gate) _table.Dispose();
    }

    public int LogEntries
    {
        get { lock (_gate) return _logs.Values.Sum(l => l.Count); }
    }
}

public sealed record IncomingRange(long Origin, long After, IReadOnlyList<string> Keys);

public sealed record ApplyResult(Frontier Applied, int ChangedKeys, int Gaps);

public sealed record OutgoingBatch(
    IReadOnlyList<IncomingRange> Ranges,
    IReadOnlyList<KeyValuePair<string, StoredVersion>> Versions,
    Frontier? SnapshotApplied,
    bool NeedsSnapshot)
{
    public static readonly OutgoingBatch Snapshot = new([], [], null, true);
}
