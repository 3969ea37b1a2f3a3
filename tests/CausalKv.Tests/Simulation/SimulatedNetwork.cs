namespace CausalKv.Tests.Simulation;

/// <summary>
/// The simulated time and network of one run. Every event (a packet delivery, a timer, a continuation of a node's
/// async code) sits in one priority queue by (simulated time, order of scheduling), so a run is a pure function of its
/// seed. Packets can be dropped, delayed, duplicated (which also reorders them) and cut by partitions of node pairs; a
/// packet to a crashed node is lost, as is one that crosses a cut at the time it is sent or delivered. A request
/// (<see cref="RequestAsync"/>) fails when its answer has not arrived within its timeout, as an HTTP request does.
/// </summary>
internal sealed class SimulatedNetwork(Random random, SimulationTrace trace)
{
    /// <summary>Events at one instant beyond which a run is stuck in a loop that never lets time pass.</summary>
    private const long MaxEventsAtOneInstant = 2_000_000;

    private readonly PriorityQueue<Action, (long At, long Order)> _events = new();
    private readonly HashSet<(int, int)> _cuts = [];
    private readonly Dictionary<long, TaskCompletionSource<byte[]>> _requests = [];
    private readonly List<string> _escapes = [];
    private long _order;
    private long _nextRequest;
    private long _eventsNow;
    private int _loopThread = Environment.CurrentManagedThreadId;

    public long Now { get; private set; }

    /// <summary>Chance that a packet is lost (0 once the network is healed).</summary>
    public double DropRate { get; set; } = 0.05;

    /// <summary>Chance that a packet is delivered twice.</summary>
    public double DuplicateRate { get; set; } = 0.03;

    /// <summary>Longest delay of a packet, in milliseconds.</summary>
    public int MaxDelay { get; set; } = 40;

    public Func<int, bool> IsUp { get; set; } = _ => true;

    /// <summary>Hands a request to its node, which answers with <see cref="Answer"/> (or never).</summary>
    public Action<SimulatedMessage> Deliver { get; set; } = _ => { };

    public int Pending => _events.Count;

    /// <summary>Work that left the simulation's thread: each one makes the run depend on real timing.</summary>
    public IReadOnlyList<string> Escapes
    {
        get { lock (_escapes) return _escapes.ToList(); }
    }

    public bool OnLoopThread => Environment.CurrentManagedThreadId == _loopThread;

    public void Escaped(string what)
    {
        lock (_escapes) _escapes.Add(what);
    }

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

    /// <summary>
    /// Sends <paramref name="payload"/> to <paramref name="path"/> at node <paramref name="to"/>; the task ends with the
    /// answer, or fails at <paramref name="timeout"/> (nothing came back: lost, cut, crashed, or an error) or when
    /// <paramref name="ct"/> is cancelled.
    /// </summary>
    public Task<byte[]> RequestAsync(int from, int to, string path, byte[] payload, TimeSpan timeout, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var id = ++_nextRequest;
        var answer = new TaskCompletionSource<byte[]>();
        _requests[id] = answer;
        var cancelled = ct.Register(() =>
        {
            if (_requests.Remove(id)) answer.TrySetCanceled(ct);
        });
        After(SimulatedClock.Milliseconds(timeout), () =>
        {
            if (_requests.Remove(id)) answer.TrySetException(new TimeoutException($"Node {to} did not answer {path} within {timeout.TotalMilliseconds} ms."));
        });
        _ = answer.Task.ContinueWith(_ => cancelled.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Send(new SimulatedMessage(from, to, id, path, payload));
        return answer.Task;
    }

    /// <summary>A node's answer to a request (null: it failed, as a 500 does).</summary>
    public void Answer(SimulatedMessage request, byte[]? answer) =>
        Send(new SimulatedMessage(request.To, request.From, request.Request, request.Path, answer) { IsReply = true });

    private void Send(SimulatedMessage message)
    {
        if (message.From == message.To) { Schedule(message, 0); return; }
        if (IsCut(message.From, message.To) || random.NextDouble() < DropRate) return;
        Schedule(message, 1 + random.Next(MaxDelay));
        if (random.NextDouble() < DuplicateRate) Schedule(message, 1 + random.Next(MaxDelay * 3));
    }

    private void Schedule(SimulatedMessage message, long delay) => After(delay, () =>
    {
        if (!IsUp(message.To) || IsCut(message.From, message.To)) return;
        if (!message.IsReply) Deliver(message);
        else if (_requests.Remove(message.Request, out var answer))
        {
            if (message.Body is { } body) answer.TrySetResult(body);
            else answer.TrySetException(new HttpRequestException($"Node {message.From} failed to handle {message.Path}."));
        }
    });

    /// <summary>Runs the next event; false when there is none or the next one is after <paramref name="until"/>.</summary>
    public bool Step(long until)
    {
        if (!_events.TryPeek(out _, out var when) || when.At > until) return false;
        var action = _events.Dequeue();
        if (when.At != Now) (Now, _eventsNow) = (when.At, 0);
        if (++_eventsNow > MaxEventsAtOneInstant)
            throw new InvalidOperationException($"More than {MaxEventsAtOneInstant} events at {Now} ms: something loops without letting time pass.");
        action();
        return true;
    }

    /// <summary>Runs every event up to <paramref name="until"/>, then sets the time to it.</summary>
    public void RunUntil(long until)
    {
        _loopThread = Environment.CurrentManagedThreadId;
        while (Step(until)) { }
        Now = Math.Max(Now, until);
    }
}
