namespace CausalKv.Tests.Simulation;

/// <summary>
/// The simulated time and network of one run. Every event (a packet delivery, a timer) sits in one priority queue
/// by (simulated time, order of scheduling), so a run is a pure function of its seed. Packets can be dropped,
/// delayed, duplicated (which also reorders them) and cut by partitions of node pairs; a packet to a crashed node
/// is lost, as is one that crosses a cut at the time it is sent or delivered.
/// </summary>
internal sealed class SimulatedNetwork(Random random, SimulationTrace trace)
{
    private readonly PriorityQueue<Action, (long At, long Order)> _events = new();
    private readonly HashSet<(int, int)> _cuts = [];
    private long _order;
    private long _nextRequest;

    public long Now { get; private set; }

    /// <summary>Chance that a packet is lost (0 once the network is healed).</summary>
    public double DropRate { get; set; } = 0.05;

    /// <summary>Chance that a packet is delivered twice.</summary>
    public double DuplicateRate { get; set; } = 0.03;

    /// <summary>Longest delay of a packet, in milliseconds.</summary>
    public int MaxDelay { get; set; } = 40;

    public Func<int, bool> IsUp { get; set; } = _ => true;

    public Action<SimulatedMessage> Deliver { get; set; } = _ => { };

    public int Pending => _events.Count;

    public long NextRequestId() => ++_nextRequest;

    public void At(long at, Action action) => _events.Enqueue(action, (Math.Max(at, Now), ++_order));

    public void After(long delay, Action action) => At(Now + delay, action);

    public bool IsCut(int a, int b) => _cuts.Contains(Pair(a, b));

    public IEnumerable<(int, int)> Cuts => _cuts.Order();

    public void Cut(int a, int b)
    {
        if (_cuts.Add(Pair(a, b))) trace.Add(Now, $"cut {a}|{b}");
    }

    public void Heal(int a, int b)
    {
        if (_cuts.Remove(Pair(a, b))) trace.Add(Now, $"heal {a}|{b}");
    }

    public void HealAll()
    {
        foreach (var (a, b) in _cuts.Order().ToList()) Heal(a, b);
    }

    private static (int, int) Pair(int a, int b) => a < b ? (a, b) : (b, a);

    public void Send(SimulatedMessage message)
    {
        if (message.From == message.To) { Schedule(message, 0); return; }
        if (IsCut(message.From, message.To) || random.NextDouble() < DropRate) return;
        Schedule(message, 1 + random.Next(MaxDelay));
        if (random.NextDouble() < DuplicateRate) Schedule(message, 1 + random.Next(MaxDelay * 3));
    }

    private void Schedule(SimulatedMessage message, long delay) => After(delay, () =>
    {
        if (!IsUp(message.To) || IsCut(message.From, message.To)) return;
        Deliver(message);
    });

    /// <summary>Runs the next event; false when there is none or the next one is after <paramref name="until"/>.</summary>
    public bool Step(long until)
    {
        if (!_events.TryPeek(out _, out var when) || when.At > until) return false;
        var action = _events.Dequeue();
        Now = when.At;
        action();
        return true;
    }

    /// <summary>Runs every event up to <paramref name="until"/>, then sets the time to it.</summary>
    public void RunUntil(long until)
    {
        while (Step(until)) { }
        Now = Math.Max(Now, until);
    }
}
