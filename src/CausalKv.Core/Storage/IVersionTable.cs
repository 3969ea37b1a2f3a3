using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>
/// Where a replica keeps its versions and its applied frontier: in memory (<see cref="MemoryVersionTable"/>) or in an
/// embedded storage engine. A <see cref="Replication.ReplicaStore"/> is its only writer and calls the mutating members
/// under its own lock; reads come from any thread without one.
/// Invariants: a change is visible to <see cref="Get"/> at the latest when <see cref="Commit"/> returns, and survives a
/// crash of the process from then on (in a durable table); changes committed together survive together or not at all,
/// and commits survive in the order they were made (a crash keeps a prefix of them), so a frontier committed after the
/// versions of its writes never names a write whose version was lost.
/// </summary>
public interface IVersionTable : IDisposable
{
    /// <summary>True when committed changes survive a crash of the process.</summary>
    bool Durable { get; }

    /// <summary>
    /// True when the table keeps the very objects it is given (in memory), so versions that share structure share
    /// memory; false when it keeps encoded copies, where shaping dependencies to share structure only costs a read.
    /// </summary>
    bool KeepsObjects { get; }

    /// <summary>The committed version of <paramref name="key"/>, or null.</summary>
    StoredVersion? Get(string key);

    /// <summary>How many keys hold a version.</summary>
    long Count { get; }

    /// <summary>
    /// Every key with its version, in the table's own key order; what is committed while it runs may or may not show.
    /// Disposing the enumerator releases whatever the table holds for it.
    /// </summary>
    IEnumerable<KeyValuePair<string, StoredVersion>> All { get; }

    /// <summary>
    /// The keys after <paramref name="after"/> (null: from the first) that start with <paramref name="prefix"/>, with
    /// their versions, in <see cref="KeyOrder"/>. Lazy: a reader that stops after a page pays for a seek and the page, not
    /// for the table. What is committed while it runs may or may not show; disposing the enumerator releases what the
    /// table holds for it.
    /// </summary>
    IEnumerable<KeyValuePair<string, StoredVersion>> Range(string? after, string prefix);

    /// <summary>The applied frontier as last committed (what a restarted replica holds).</summary>
    Frontier LoadApplied();

    /// <summary>
    /// Sets the version of <paramref name="key"/>, which held <paramref name="previous"/> (null when none): committed, or
    /// put since the last commit. The table releases what only the previous version used (its shared dependencies).
    /// </summary>
    void Put(string key, StoredVersion version, StoredVersion? previous);

    /// <summary>Drops the version of <paramref name="key"/>, which held <paramref name="previous"/>.</summary>
    void Remove(string key, StoredVersion previous);

    /// <summary>Records that this replica holds every write of <paramref name="origin"/> up to <paramref name="seq"/>.</summary>
    void SetApplied(long origin, long seq);

    /// <summary>Makes every change since the last commit visible and crash-safe together; returns its commit number.</summary>
    long Commit();

    /// <summary>
    /// Completes once commit <paramref name="commit"/> (and every one before it) is as durable as the table promises:
    /// at once for a table that only promises to survive a crash of the process, after an fsync shared by every commit
    /// waiting at the time for one that survives a power loss.
    /// </summary>
    ValueTask WhenDurableAsync(long commit, CancellationToken ct = default);
}
