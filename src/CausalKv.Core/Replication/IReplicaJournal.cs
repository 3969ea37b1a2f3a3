using CausalKv.Causality;

namespace CausalKv.Replication;

/// <summary>
/// The durable record of a <see cref="ReplicaStore"/>: every version it stores, every key it drops and every frontier
/// it reaches, appended in order, and read back whole at start. The store decides what to record and when to commit;
/// the journal only keeps it (the node's is a write-ahead log file).
/// Invariant: after <see cref="Commit"/> returns, <see cref="Replay"/> gives back every committed change.
/// </summary>
public interface IReplicaJournal : IDisposable
{
    /// <summary>The versions and the applied frontier recorded so far.</summary>
    (Dictionary<string, StoredVersion> Versions, Dictionary<long, long> Applied) Replay();

    /// <summary>A write of this replica's origin: the version now stored and the write's dot.</summary>
    void Write(string key, StoredVersion version, long origin, long seq);

    /// <summary>A version merged in from a peer.</summary>
    void Version(string key, StoredVersion version);

    /// <summary>A key handed off to its new shard.</summary>
    void Removed(string key);

    /// <summary>The frontier after applying a peer's writes.</summary>
    void Applied(IReadOnlyDictionary<long, long> applied);

    /// <summary>Makes everything recorded so far survive a crash of the process.</summary>
    void Commit();

    /// <summary>True when the record has grown enough to be rewritten as the current state.</summary>
    bool NeedsCompaction { get; }

    /// <summary>Replaces the record with the current state.</summary>
    void Compact(IEnumerable<KeyValuePair<string, StoredVersion>> versions, IReadOnlyDictionary<long, long> applied);
}
