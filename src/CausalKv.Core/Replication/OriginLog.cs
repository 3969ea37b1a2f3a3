namespace CausalKv.Replication;

/// <summary>
/// The keys written by one origin, by sequence number, for the writes this
/// replica may still have to send to a peer.
/// Invariant: the log holds exactly the sequence numbers Floor+1 .. Last, with
/// no gap; entries at or below the shard's stable frontier are trimmed (Floor rises),
/// and so are the oldest ones when the replica's logs outgrow their bound (a peer
/// below the floor then catches up by a scan of the store). Every entry's memory is
/// charged to the <see cref="LogBudget"/> the logs of one replica share.
/// </summary>
internal sealed class OriginLog(long floor, LogBudget budget)
{
    private readonly List<string> _keys = [];
    private int _head;

    public long Floor { get; private set; } = floor;

    public long Last => Floor + (_keys.Count - _head);

    public int Count => _keys.Count - _head;

    /// <summary>What the entries take, as charged to the budget.</summary>
    public long Bytes { get; private set; }

    public void Append(string key)
    {
        _keys.Add(key);
        Charge(LogBudget.EntryBytes(key));
    }

    public string KeyAt(long seq) => _keys[_head + (int)(seq - Floor - 1)];

    public void TrimTo(long stable)
    {
        if (stable <= Floor) return;
        var drop = (int)Math.Min(stable - Floor, Count);
        long freed = 0;
        for (var i = _head; i < _head + drop; i++)
        {
            freed += LogBudget.EntryBytes(_keys[i]);
            _keys[i] = null!; // the key's memory goes with the entry, before the list is compacted
        }
        Charge(-freed);
        _head += drop;
        Floor += drop;
        if (_head > 4096 && _head > _keys.Count / 2)
        {
            _keys.RemoveRange(0, _head);
            _head = 0;
        }
        if (_keys.Count == 0 && _keys.Capacity > 4096) _keys.Capacity = 0;
    }

    /// <summary>Drops the oldest entries until this log takes at most <paramref name="bytes"/> (or is empty).</summary>
    public void ShedTo(long bytes)
    {
        var floor = Floor;
        long freed = 0;
        for (var i = _head; i < _keys.Count && Bytes - freed > bytes; i++)
        {
            freed += LogBudget.EntryBytes(_keys[i]);
            floor++;
        }
        TrimTo(floor);
    }

    /// <summary>Forget everything and start again above <paramref name="floor"/> (after a snapshot).</summary>
    public void Reset(long floor)
    {
        Charge(-Bytes);
        _keys.Clear();
        if (_keys.Capacity > 4096) _keys.Capacity = 0;
        _head = 0;
        Floor = floor;
    }

    private void Charge(long bytes)
    {
        Bytes += bytes;
        budget.Used += bytes;
    }
}

/// <summary>
/// What the key logs of one replica may take together, and what they take now: the bound that keeps a replica's memory
/// flat however long a peer stays away (<see cref="ReplicaStore.LogBytesLimit"/>).
/// </summary>
internal sealed class LogBudget(long limit)
{
    public long Limit { get; } = limit;

    public long Used { get; set; }

    /// <summary>Entries dropped over the bound, not because every replica held them.</summary>
    public long Shed { get; set; }

    /// <summary>
    /// An entry's memory: its slot in the log and its key string (a key read from a request or a batch is a string of its own).
    /// </summary>
    public static long EntryBytes(string key) => 8 + 24 + 2L * key.Length;
}
