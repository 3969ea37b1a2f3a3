using System.Collections.Concurrent;
using CausalKv.Causality;

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
/// Reads are lock-free; every mutation takes one short lock.
/// </summary>
public sealed class ReplicaStore : IDisposable
{
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, StoredVersion> _versions = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _applied = [];
    private readonly Dictionary<long, OriginLog> _logs = [];
    private readonly ChangeSignal _changed = new();
    private readonly TimeProvider _time;
    private long _origin;
    private long _seq;
    private long _incarnation;

    private readonly IReplicaJournal? _wal;

    /// <summary>A batch stops growing past this many bytes of keys and values (large values make few-entry batches).</summary>
    public const long MaxBatchBytes = 4 * 1024 * 1024;

    /// <param name="time">the clock of write tags and incarnations</param>
    /// <param name="journal">where every change is recorded to survive a crash, and replayed from at start; none keeps the replica in memory only</param>
    public ReplicaStore(TimeProvider time, IReplicaJournal? journal = null)
    {
        _time = time;
        if (journal is not null)
        {
            _wal = journal;
            var (versions, applied) = _wal.Replay();
            foreach (var (k, v) in versions) _versions[k] = v;
            foreach (var (o, seq) in applied)
            {
                _applied[o] = seq;
                // The keys of these writes are not known any more: a peer lacking them gets the whole state.
                _logs[o] = new OriginLog(seq);
            }
            _wal.Compact(_versions, _applied);
            Recovered = versions.Count;
        }
    }

    /// <summary>Keys read back from the journal at start.</summary>
    public int Recovered { get; }

    public bool Durable => _wal is not null;

    public ChangeSignal Changed => _changed;

    public long Origin => Volatile.Read(ref _origin);

    public int Count => _versions.Count;

    /// <summary>Raised after a write accepted here (not one received from a peer).</summary>
    public event Action? LocalWrite;

    /// <summary>Begins a new origin for this node: at start, and whenever its shard changes.</summary>
    public long StartIncarnation(int nodeId)
    {
        lock (_gate)
        {
            // A clock set back across a restart must not hand out an incarnation this node already wrote with: the
            // dots of that origin are in the log and at the peers, and reusing them would make new writes look held.
            foreach (var origin in _applied.Keys)
                if (OriginId.NodeOf(origin) == nodeId) _incarnation = Math.Max(_incarnation, OriginId.IncarnationOf(origin));
            _incarnation = OriginId.NextIncarnation(_incarnation, _time.GetUtcNow());
            _origin = OriginId.Create(nodeId, _incarnation);
            _seq = 0;
            _logs[_origin] = new OriginLog(0);
            return _origin;
        }
    }

    public StoredVersion? Get(string key) => _versions.TryGetValue(key, out var v) ? v : null;

    public IEnumerable<KeyValuePair<string, StoredVersion>> All => _versions;

    /// <summary>Accepts a write (a null value deletes) and returns the version now stored.</summary>
    /// <param name="isStable">drops dependencies every replica already holds from what the version carries</param>
    public StoredVersion Write(string key, string? value, DependencySet session, int nodeId, Func<string, Dependency, bool>? isStable = null)
    {
        StoredVersion stored;
        lock (_gate)
        {
            if (_origin == 0) throw new InvalidOperationException("No incarnation started.");
            var seq = ++_seq;
            _versions.TryGetValue(key, out var local);
            session = Share(session);
            var written = StoredVersion.NewWrite(key, value, local, session, _origin, seq, nodeId, _time.GetUtcNow().ToUnixTimeMilliseconds());
            if (isStable is not null) written = written with { Dependencies = written.Dependencies.Prune(isStable) };
            stored = StoredVersion.Merge(local, written);
            _versions[key] = stored;
            _logs[_origin].Append(key);
            _applied[_origin] = seq;
            if (_wal is not null)
            {
                _wal.Write(key, stored, _origin, seq);
                _wal.Commit();
                if (_wal.NeedsCompaction) _wal.Compact(_versions, _applied);
            }
        }
        _changed.Signal();
        LocalWrite?.Invoke();
        return stored;
    }

    /// <summary>
    /// Dependencies rebuilt on those of the stored version of their latest entry (plus that entry), when this replica
    /// holds exactly that version: what a session wrote after it saw that version (see <see cref="DependencySet.Rebase"/>).
    /// Caller holds the gate.
    /// </summary>
    private DependencySet Share(DependencySet deps)
    {
        if (deps.Latest() is not { } latest || !_versions.TryGetValue(latest.Key, out var seen)) return deps;
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
            foreach (var (key, incoming) in versions)
            {
                _versions.TryGetValue(key, out var local);
                var merged = StoredVersion.Merge(local, incoming);
                var seq = ++_seq;
                var imported = merged with { Clock = merged.Clock.With(_origin, seq) };
                _versions[key] = imported;
                _logs[_origin].Append(key);
                _applied[_origin] = seq;
                _wal?.Write(key, imported, _origin, seq);
            }
            last = _seq;
            origin = _origin;
            _wal?.Commit();
        }
        _changed.Signal();
        if (versions.Count > 0) LocalWrite?.Invoke();
        return (origin, last);
    }

    public Dictionary<long, long> AppliedSnapshot()
    {
        lock (_gate) return new Dictionary<long, long>(_applied);
    }

    /// <summary>True when this replica holds every write <paramref name="frontier"/> names.</summary>
    public bool Covers(IReadOnlyDictionary<long, long> frontier)
    {
        lock (_gate)
        {
            foreach (var (o, s) in frontier)
                if (!_applied.TryGetValue(o, out var mine) || mine < s) return false;
            return true;
        }
    }

    /// <summary>
    /// Merges what a peer sent. Ranges that would leave a gap in an origin's
    /// frontier are ignored (the versions still merge: merging is always safe).
    /// </summary>
    public ApplyResult Apply(IReadOnlyList<IncomingRange> ranges, IReadOnlyList<KeyValuePair<string, StoredVersion>> versions,
        IReadOnlyDictionary<long, long>? snapshotApplied)
    {
        int changedKeys = 0, gaps = 0;
        Dictionary<long, long> applied;
        lock (_gate)
        {
            foreach (var (key, received) in versions)
            {
                _versions.TryGetValue(key, out var local);
                var shared = Share(received.Dependencies);
                var incoming = ReferenceEquals(shared, received.Dependencies) ? received : received with { Dependencies = shared };
                var merged = StoredVersion.Merge(local, incoming);
                if (ReferenceEquals(merged, local)) continue;
                _versions[key] = merged;
                _wal?.Version(key, merged);
                changedKeys++;
            }
            foreach (var range in ranges)
            {
                var mine = _applied.GetValueOrDefault(range.Origin);
                if (range.After > mine) { gaps++; continue; }
                if (!_logs.TryGetValue(range.Origin, out var log))
                    _logs[range.Origin] = log = new OriginLog(mine);
                if (log.Last != mine) log.Reset(mine);
                for (var i = (int)(mine - range.After); i < range.Keys.Count; i++) log.Append(range.Keys[i]);
                var upTo = range.After + range.Keys.Count;
                if (upTo > mine) _applied[range.Origin] = upTo;
            }
            if (snapshotApplied is not null)
            {
                foreach (var (o, s) in snapshotApplied)
                {
                    if (_applied.GetValueOrDefault(o) >= s) continue;
                    _applied[o] = s;
                    if (_logs.TryGetValue(o, out var log)) log.Reset(s); else _logs[o] = new OriginLog(s);
                }
            }
            applied = new Dictionary<long, long>(_applied);
            if (_wal is not null)
            {
                if (ranges.Count > 0 || snapshotApplied is not null) _wal.Applied(applied);
                _wal.Commit();
            }
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
    public OutgoingBatch? Diff(IReadOnlyDictionary<long, long> peerApplied, int budget)
    {
        lock (_gate)
        {
            List<IncomingRange>? ranges = null;
            HashSet<string>? keys = null;
            long bytes = 0;
            foreach (var (origin, mine) in _applied)
            {
                var theirs = peerApplied.GetValueOrDefault(origin);
                if (theirs >= mine) continue;
                var log = _logs[origin];
                if (theirs < log.Floor) return OutgoingBatch.Snapshot;
                if (budget <= 0 || bytes >= MaxBatchBytes) break;
                var upTo = Math.Min(mine, theirs + budget);
                var rangeKeys = new List<string>((int)(upTo - theirs));
                keys ??= new HashSet<string>(StringComparer.Ordinal);
                for (var s = theirs + 1; s <= upTo && bytes < MaxBatchBytes; s++)
                {
                    var k = log.KeyAt(s);
                    rangeKeys.Add(k);
                    if (keys.Add(k) && _versions.TryGetValue(k, out var v)) bytes += v.ApproximateWireBytes(k);
                }
                budget -= rangeKeys.Count;
                (ranges ??= []).Add(new IncomingRange(origin, theirs, rangeKeys));
            }
            if (ranges is null) return null;
            var versions = new List<KeyValuePair<string, StoredVersion>>(keys!.Count);
            foreach (var k in keys)
                if (_versions.TryGetValue(k, out var v)) versions.Add(new(k, v)); // a key handed off since is the new shard's now
            return new OutgoingBatch(ranges, versions, null, false);
        }
    }

    /// <summary>Every key and the frontier they include, to page to a peer that needs the whole state.</summary>
    public (string[] Keys, Dictionary<long, long> Applied) BeginSnapshot()
    {
        lock (_gate) return (_versions.Keys.ToArray(), new Dictionary<long, long>(_applied));
    }

    /// <summary>Drops log entries every replica holds; nobody will ask for them again.</summary>
    public void TrimLogs(IReadOnlyDictionary<long, long> stable)
    {
        lock (_gate)
            foreach (var (origin, log) in _logs)
                if (stable.TryGetValue(origin, out var s)) log.TrimTo(Math.Min(s, log.Last));
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
            foreach (var pair in sent)
            {
                if (!_versions.TryRemove(pair)) continue;
                removed++;
                _wal?.Removed(pair.Key);
            }
            _wal?.Commit();
        }
        _changed.Signal();
        return removed;
    }

    public void Dispose()
    {
        lock (_gate) _wal?.Dispose();
    }

    public int LogEntries
    {
        get { lock (_gate) return _logs.Values.Sum(l => l.Count); }
    }
}

public sealed record IncomingRange(long Origin, long After, IReadOnlyList<string> Keys);

public sealed record ApplyResult(Dictionary<long, long> Applied, int ChangedKeys, int Gaps);

public sealed record OutgoingBatch(
    IReadOnlyList<IncomingRange> Ranges,
    IReadOnlyList<KeyValuePair<string, StoredVersion>> Versions,
    IReadOnlyDictionary<long, long>? SnapshotApplied,
    bool NeedsSnapshot)
{
    public static readonly OutgoingBatch Snapshot = new([], [], null, true);
}
