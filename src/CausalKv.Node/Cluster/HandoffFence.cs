using CausalKv.Sharding;

namespace CausalKv.Node.Cluster;

/// <summary>
/// After a view change, the keys this node's shard gains from other shards
/// arrive by handoff. Until the previous owner of a key has reported its
/// handoff complete, a read of that key here waits instead of answering 404.
/// </summary>
public sealed class HandoffFence
{
    private readonly object _gate = new();
    private HashRing? _oldRing;
    private HashSet<string> _pending = new(StringComparer.Ordinal);
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private long _epoch;
    private DateTimeOffset? _since;
    private readonly HashSet<(long Epoch, string Shard)> _early = [];

    public bool AnyPending
    {
        get { lock (_gate) return _pending.Count > 0; }
    }

    /// <summary>How long the current fence has been up.</summary>
    public TimeSpan Age
    {
        get { lock (_gate) return _since is { } t ? DateTimeOffset.UtcNow - t : TimeSpan.Zero; }
    }

    public long Epoch
    {
        get { lock (_gate) return _epoch; }
    }

    public IReadOnlyCollection<string> PendingShards
    {
        get { lock (_gate) return _pending.ToArray(); }
    }

    /// <summary>Keys that belonged to any of <paramref name="sources"/> under <paramref name="oldRing"/> are fenced until each reports.</summary>
    public void Begin(long epoch, HashRing oldRing, IEnumerable<string> sources)
    {
        lock (_gate)
        {
            _epoch = epoch;
            _since = DateTimeOffset.UtcNow;
            _oldRing = oldRing;
            _pending = new HashSet<string>(sources, StringComparer.Ordinal);
            _done.Clear();
            // Handoffs may arrive before the view that asks for them.
            foreach (var (e, shard) in _early.ToArray())
            {
                if (e == epoch) _pending.Remove(shard);
                if (e <= epoch) _early.Remove((e, shard));
            }
        }
    }

    /// <summary>The old shard <paramref name="source"/> finished handing off for <paramref name="epoch"/>; true when that cleared a fence.</summary>
    public bool Complete(long epoch, string source)
    {
        lock (_gate)
        {
            if (epoch > _epoch) { _early.Add((epoch, source)); return false; }
            if (epoch != _epoch) return false;
            _done.Add(source);
            return _pending.Remove(source);
        }
    }

    /// <summary>The old shards that reported for the current epoch, to tell the other replicas in gossip.</summary>
    public (long Epoch, string[] Done) Reported
    {
        get { lock (_gate) return (_epoch, _done.ToArray()); }
    }

    public void Clear()
    {
        lock (_gate) _pending.Clear();
    }

    public bool IsPending(string key)
    {
        lock (_gate)
        {
            if (_pending.Count == 0 || _oldRing is null) return false;
            return _pending.Contains(_oldRing.ShardFor(key));
        }
    }
}
