using CausalKv.Causality;
using CausalKv.Sharding;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// Client sessions of the simulation. Each session runs one request at a time and carries its dependencies between
/// requests as a real client carries causal-metadata (<see cref="CausalRead.AfterObserving"/>, as the data API
/// answers), sending each request to a replica of the key's shard. A read that must wait is tried again a little
/// later, perhaps at another replica, and abandoned after a few attempts; an answer can be lost on its way back, so
/// a write may be stored without the client knowing. Every outcome goes into the history.
/// </summary>
internal sealed class SimulatedClient(
    Random random, SimulatedNetwork network, SimulationTrace trace, Func<ShardView> currentView, Func<HashRing> currentRing,
    IReadOnlyList<SimulatedNode> nodes, List<HistoryOperation> history, int sessions)
{
    public const int ReadAttempts = 6;
    public const double LostAnswerRate = 0.04;

    private readonly DependencySet[] _dependencies = Enumerable.Repeat(DependencySet.Empty, sessions).ToArray();
    private readonly bool[] _busy = new bool[sessions];
    private readonly int[] _written = new int[sessions];

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

    private SimulatedNode Replica(string key)
    {
        var view = currentView();
        var replicas = view.NodesOf(currentRing().ShardFor(key));
        return nodes[replicas[random.Next(replicas.Count)].Id];
    }

    private void Record(int session, bool isWrite, string key, string? value, bool executed, bool completed, SimulatedNode node,
        StoredVersion? stored = null, long origin = 0)
    {
        var op = new HistoryOperation(history.Count, session, isWrite, key, value, executed, completed,
            stored?.Tag ?? default, origin, stored is null ? 0 : stored.Clock[origin], node.Id, network.Now);
        history.Add(op);
        trace.Add(network.Now, op.ToString() + (isWrite && !executed ? " (not stored: replica unavailable)" : ""));
    }

    private void Write(int session, string key, string? value)
    {
        var node = Replica(key);
        var deps = _dependencies[session];
        if (!node.Serves(key))
        {
            Record(session, true, key, value, executed: false, completed: false, node);
            return;
        }
        var previous = node.Store!.Get(key);
        // A write never waits. A DELETE of a key absent here that the session knows nothing of waits to tell 404 at a
        // replica that has not caught up, or whose key is still on its way from its previous shard
        // (ReadGate.MissingForExistence): the client gives up.
        if (value is null && (previous is null || previous.IsDeleted) && deps[key] is null && node.ExistenceUnknown(key))
        {
            Record(session, true, key, value, executed: false, completed: false, node);
            return;
        }
        var stored = node.Write(key, value, deps);
        var answered = random.NextDouble() >= LostAnswerRate;
        if (stored is null)
        {
            // DELETE of a key that does not exist here: a 404, which tells the session what the replica holds.
            if (answered) _dependencies[session] = node.Prune(previous is null ? deps : CausalRead.AfterObserving(deps, key, previous));
            Record(session, false, key, null, executed: false, completed: answered, node);
            return;
        }
        // As the data API answers a write: the key's dependency is the write's own dot (this node's origin took it).
        if (answered) _dependencies[session] = node.Prune(CausalRead.AfterWriting(deps, key, stored, new VersionVector.Entry(node.Store.Origin, stored.Clock[node.Store.Origin])));
        Record(session, true, key, value, executed: true, completed: answered, node, stored, node.Store.Origin);
    }

    private void Read(int session, string key, int attempt)
    {
        _busy[session] = true;
        var node = Replica(key);
        var deps = _dependencies[session];
        if (!node.Serves(key))
        {
            Retry(session, key, attempt, $"node {node.Id} does not serve '{key}'");
            return;
        }
        if (!node.TryRead(key, deps, out var version, out var missing))
        {
            Waits++;
            Retry(session, key, attempt, $"node {node.Id} waits for {missing}");
            return;
        }
        _busy[session] = false;
        if (random.NextDouble() < LostAnswerRate)
        {
            trace.Add(network.Now, $"session {session} GET {key} at node {node.Id}: answer lost");
            return;
        }
        _dependencies[session] = node.Prune(version is null ? deps : CausalRead.AfterObserving(deps, key, version));
        Record(session, false, key, version?.Value, executed: false, completed: true, node);
    }

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
