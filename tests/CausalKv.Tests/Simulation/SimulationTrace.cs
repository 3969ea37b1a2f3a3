namespace CausalKv.Tests.Simulation;

/// <summary>The last events of a run, to print with a failure: enough to see what led to it without replaying.</summary>
internal sealed class SimulationTrace(int capacity = 80)
{
    private readonly Queue<string> _lines = new();

    public long Events { get; private set; }

    public void Add(long at, string line)
    {
        Events++;
        if (_lines.Count == capacity) _lines.Dequeue();
        _lines.Enqueue($"{at,7} ms  {line}");
    }

    public string Tail() => string.Join(Environment.NewLine, _lines);
}
