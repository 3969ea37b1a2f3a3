namespace CausalKv.Tests.Simulation;

/// <summary>
/// The events of a run: the last ones to print with a failure (enough to see what led to it without replaying), and a
/// digest of all of them, so that two runs of one seed can be compared event for event.
/// </summary>
internal sealed class SimulationTrace(int capacity = 80)
{
    private readonly Queue<string> _lines = new();
    private ulong _digest = 14695981039346656037;

    public long Events { get; private set; }

    /// <summary>An FNV-1a hash of every line so far, in order.</summary>
    public ulong Digest => _digest;

    public void Add(long at, string line)
    {
        Events++;
        var text = $"{at,7} ms  {line}";
        foreach (var c in text) _digest = (_digest ^ c) * 1099511628211;
        _digest = (_digest ^ '\n') * 1099511628211;
        if (_lines.Count == capacity) _lines.Dequeue();
        _lines.Enqueue(text);
    }

    public string Tail() => string.Join(Environment.NewLine, _lines);
}
