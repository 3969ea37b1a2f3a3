namespace CausalKv.AppHost.Orchestration;

/// <summary>A resource's console output: the last <see cref="Capacity"/> lines, numbered, safe to read while written.</summary>
public sealed class ConsoleLog(int capacity = 2000)
{
    private readonly Queue<ConsoleLine> _lines = new();
    private long _next;

    public int Capacity { get; } = capacity;

    public event Action<ConsoleLine>? LineAdded;

    public void Add(string text, bool isError)
    {
        ConsoleLine line;
        lock (_lines)
        {
            line = new ConsoleLine(++_next, DateTimeOffset.UtcNow, text, isError);
            _lines.Enqueue(line);
            while (_lines.Count > Capacity) _lines.Dequeue();
        }
        LineAdded?.Invoke(line);
    }

    /// <summary>Lines numbered above <paramref name="after"/>.</summary>
    public IReadOnlyList<ConsoleLine> Since(long after)
    {
        lock (_lines) return _lines.Where(l => l.Number > after).ToArray();
    }
}

public sealed record ConsoleLine(long Number, DateTimeOffset At, string Text, bool IsError);
