using CausalKv.Causality;
using CausalKv.Sharding;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// Client sessions of the simulation. Each session runs one request at a time, sends it to a random node of the view
/// (which serves it, or forwards it to the key's shard as the node does) and carries on with the causal-metadata of
/// the answer, as a real client does. A read that must wait is tried again a little later, perhaps at another node,
/// and abandoned after a few attempts; a request whose answer does not come within <see cref="Timeout"/> is given up;
/// an answer can be lost on its way back, so a write may be stored without the client knowing. Every outcome goes into
/// the history: a write when a replica stores it (<see cref="Executed"/>), acknowledged when its answer arrives.
/// </summary>
internal sealed class SimulatedClient(
    Random random, SimulatedNetwork network, SimulationTrace trace, Func<ShardView> currentView,
    IReadOnlyList<SimulatedNode> nodes, List<HistoryOperation> history, int sessions)
{
    public const int ReadAttempts = 6;
    public const double LostAnswerRate = 0.04;

    /// <summary>How long a session waits for an answer: past every forward's deadline, so it gives up only on a lost answer.</summary>
    public const long Timeout = 15_000;

    private readonly DependencySet[] _dependencies = Enumerable.Repeat(DependencySet.Empty, sessions).ToArray();
    private readonly bool[] _busy = new bool[sessions];
    private readonly int[] _written = new int[sessions];
    private readonly int[] _requests = new int[sessions];

    public int Waits { get; private set; }
    public int Abandoned { get; private set; }
    public bool AnyBusy => _busy.Any(b => b);

    /// <summary>Starts one operation on a random idle session; false when every session is busy.</summary>
    public bool IssueOne(IReadOnlyList<string> keys)
    {
        var idle = Enumerable.Range(0, sessions).Where(s => !_busy[s]).ToList();
        if (idle.Count == 0) return false;
        var session = idle[random.Next(idle.Count)];
        var key = keys[random.Next(keys.Count)];
        var roll = random.NextDouble();
        if (roll < 0.45) Read(session, key, 1);
        else Write(session, key, roll < 0.9 ? $"s{session}v{++_written[session]}" : null);
        return true;
    }

    /// <summary>A replica stored a write of a session: it enters the history, not yet acknowledged. Returns its entry.</summary>
    public int Executed(SimulatedDataRequest request, StoredVersion stored, long origin, int node)
    {
        var op = new HistoryOperation(history.Count, request.Session, true, request.Key, request.Value, true, false,
            stored.Tag, origin, stored.Clock[origin], node, network.Now, request.Issued);
        history.Add(op);
        trace.Add(network.Now, $"{op} stored" + (request.Hops > 0 ? $" (forwarded {request.Hops} times)" : ""));
        return op.Index;
    }

    private void Record(SimulatedDataRequest request, SimulatedDataAnswer answer)
    {
        var op = new HistoryOperation(history.Count, request.Session, false, request.Key, answer.Value, false, true, answer.Tag, 0, 0,
            answer.Node, network.Now, request.Issued);
        history.Add(op);
        trace.Add(network.Now, op.ToString());
    }

    /// <summary>
    /// Sends a request of <paramref name="session"/> to a random node of the view and calls <paramref name="done"/> with
    /// its answer, or with null when the node is down, crashed before it answered, or no answer came in time (a late
    /// answer is ignored).
    /// </summary>
    private void Send(SimulatedDataRequest request, Action<SimulatedDataAnswer?, SimulatedNode> done)
    {
        var members = currentView().AllNodes;
        var node = nodes[members[random.Next(members.Count)].Id];
        var number = ++_requests[request.Session];
        var lost = random.NextDouble() < LostAnswerRate;
        void Finish(SimulatedDataAnswer? answer)
        {
            if (_requests[request.Session] != number) return;
            _requests[request.Session]++;
            if (answer is not null && lost)
            {
                trace.Add(network.Now, $"{request} at node {node.Id}: answer lost");
                answer = null;
            }
            done(answer, node);
        }
        _busy[request.Session] = true;
        network.After(Timeout, () => Finish(null));
        node.Request(request, Finish);
    }

    private void Write(int session, string key, string? value)
    {
        var method = value is null ? SimulatedDataRequest.Delete : SimulatedDataRequest.Put;
        var request = new SimulatedDataRequest(method, key, value, _dependencies[session], session, history.Count);
        Send(request, (answer, node) =>
        {
            _busy[session] = false;
            if (answer is not { Served: true })
            {
                trace.Add(network.Now, $"session {session} {method} {key}: {Why(answer, node)}; given up");
                return;
            }
            _dependencies[session] = answer.Metadata!;
            // A DELETE of a key that does not exist: a 404, which tells the session what the replica holds, as a read does.
            if (answer.Execution is not { } execution)
            {
                Record(request, answer);
                return;
            }
            history[execution] = history[execution] with { Completed = true };
            trace.Add(network.Now, $"{history[execution]} acknowledged by node {node.Id}");
        });
    }

    private void Read(int session, string key, int attempt)
    {
        var request = new SimulatedDataRequest(SimulatedDataRequest.Get, key, null, _dependencies[session], session, history.Count);
        Send(request, (answer, node) =>
        {
            if (answer is not { Served: true })
            {
                if (answer?.Missing is not null) Waits++;
                Retry(session, key, attempt, Why(answer, node));
                return;
            }
            _busy[session] = false;
            _dependencies[session] = answer.Metadata!;
            Record(request, answer);
        });
    }

    private static string Why(SimulatedDataAnswer? answer, SimulatedNode node) => answer switch
    {
        null => $"no answer from node {node.Id}",
        { Missing: { } missing } => $"node {answer.Node} waits for {missing}",
        _ => $"node {answer.Node} answers {answer.Status}: {answer.Error}",
    };

    private void Retry(int session, string key, int attempt, string why)
    {
        if (attempt >= ReadAttempts)
        {
            Abandoned++;
            _busy[session] = false;
            trace.Add(network.Now, $"session {session} GET {key}: {why}; abandoned");
            return;
        }
        trace.Add(network.Now, $"session {session} GET {key}: {why}; retry");
        network.After(20 + random.Next(100), () => Read(session, key, attempt + 1));
    }
}
