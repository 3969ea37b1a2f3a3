namespace CausalKv.Replication;

/// <summary>
/// The keys written by one origin, by sequence number, for the writes this
/// replica may still have to send to a peer.
/// Invariant: the log holds exactly the sequence numbers Floor+1 .. Last, with
/// no gap; entries at or below the shard's stable frontier are trimmed (Floor rises).
/// </summary>
internal sealed class OriginLog
{
    private readonly List<string> _keys = [];
    private int _head;

    public OriginLog(long floor) => Floor = floor;

    public long Floor { get; private set; }

    public long Last => Floor + (_keys.Count - _head);

    public int Count => _keys.Count - _head;

    public void Append(string key) => _keys.Add(key);

    public string KeyAt(long seq) => _keys[_head + (int)(seq - Floor - 1)];

    public void TrimTo(long stable)
    {
        if (stable <= Floor) return;
        var drop = (int)Math.Min(stable - Floor, Count);
        _head += drop;
        Floor += drop;
        if (_head > 4096 && _head > _keys.Count / 2)
        {
            _keys.RemoveRange(0, _head);
            _head = 0;
        }
    }

    /// <summary>Forget everything and start again above <paramref name="floor"/> (after a snapshot).</summary>
    public void Reset(long floor)
    {
        _keys.Clear();
        _head = 0;
        Floor = floor;
    }
}
