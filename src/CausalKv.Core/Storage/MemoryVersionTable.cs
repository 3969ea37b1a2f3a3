using System.Collections.Concurrent;
using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>
/// Versions and frontier in memory only: nothing survives the process. For tests, benchmarks and nodes run without a
/// data directory. Changes show at once (before <see cref="Commit"/>); that is allowed, the invariant only bounds
/// when they show at the latest. A simulated crash that keeps this object keeps every commit, as a durable table would.
/// </summary>
public sealed class MemoryVersionTable : IVersionTable
{
    private readonly ConcurrentDictionary<string, StoredVersion> _versions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, long> _applied = new();
    private long _commits;

    public bool Durable => false;

    public bool KeepsObjects => true;

    public StoredVersion? Get(string key) => _versions.TryGetValue(key, out var v) ? v : null;

    public long Count => _versions.Count;

    public IEnumerable<KeyValuePair<string, StoredVersion>> All => _versions;

    public Dictionary<long, long> LoadApplied() => new(_applied);

    public void Put(string key, StoredVersion version, StoredVersion? previous) => _versions[key] = version;

    public void Remove(string key, StoredVersion previous) => _versions.TryRemove(key, out _);

    public void SetApplied(long origin, long seq) => _applied[origin] = seq;

    public long Commit() => Interlocked.Increment(ref _commits);

    public ValueTask WhenDurableAsync(long commit, CancellationToken ct = default) => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}
