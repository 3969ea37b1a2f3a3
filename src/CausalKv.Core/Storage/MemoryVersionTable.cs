using System.Collections.Concurrent;
using System.Collections.Immutable;
using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>
/// Versions and frontier in memory only: nothing survives the process. For tests, benchmarks and nodes run without a
/// data directory. Changes show at once (before <see cref="Commit"/>); that is allowed, the invariant only bounds
/// when they show at the latest. A simulated crash that keeps this object keeps every commit, as a durable table would.
/// Keys are also kept in a sorted set (an immutable tree, so a reader walks a snapshot without a lock) for
/// <see cref="Range"/>: a seek and each step cost O(log n).
/// </summary>
public sealed class MemoryVersionTable : IVersionTable
{
    private readonly ConcurrentDictionary<string, StoredVersion> _versions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, long> _applied = new();
    private readonly Lock _keysGate = new();
    private ImmutableSortedSet<string> _keys = ImmutableSortedSet.Create<string>(KeyOrder.Instance);
    private long _commits;

    public bool Durable => false;

    public bool KeepsObjects => true;

    public StoredVersion? Get(string key) => _versions.TryGetValue(key, out var v) ? v : null;

    public long Count => _versions.Count;

    public IEnumerable<KeyValuePair<string, StoredVersion>> All => _versions;

    public IEnumerable<KeyValuePair<string, StoredVersion>> Range(string? after, string prefix)
    {
        var keys = Volatile.Read(ref _keys);
        for (var i = Start(keys, after, prefix); i < keys.Count; i++)
        {
            var key = keys[i];
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) yield break;
            if (_versions.TryGetValue(key, out var version)) yield return new(key, version);
        }
    }

    /// <summary>The index of the first key above <paramref name="after"/> and at or above <paramref name="prefix"/>.</summary>
    private static int Start(ImmutableSortedSet<string> keys, string? after, string prefix)
    {
        var at = keys.IndexOf(prefix);
        var start = at >= 0 ? at : ~at;
        if (after is null) return start;
        at = keys.IndexOf(after);
        return Math.Max(start, at >= 0 ? at + 1 : ~at);
    }

    public Frontier LoadApplied() => Frontier.Of(_applied);

    public void Put(string key, StoredVersion version, StoredVersion? previous)
    {
        if (!_versions.ContainsKey(key))
        {
            lock (_keysGate) Volatile.Write(ref _keys, _keys.Add(key));
        }
        _versions[key] = version;
    }

    public void Remove(string key, StoredVersion previous)
    {
        if (!_versions.TryRemove(key, out _)) return;
        lock (_keysGate) Volatile.Write(ref _keys, _keys.Remove(key));
    }

    public void SetApplied(long origin, long seq) => _applied[origin] = seq;

    public long Commit() => Interlocked.Increment(ref _commits);

    public ValueTask WhenDurableAsync(long commit, CancellationToken ct = default) => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}
