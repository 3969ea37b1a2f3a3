using System.Text;
using CausalKv.Causality;
using CausalKv.Sharding;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// One deterministic run of a cluster: six nodes of the node's own code (<see cref="SimulatedNode"/>) on a simulated
/// network, clock and disk, driven by one <see cref="Random"/> seeded with the run's seed, so a failing seed replays exactly. A chaos phase mixes client
/// operations with dropped, delayed, duplicated and reordered packets, partitions cut and healed, crashes and restarts
/// from the store, and declared changes of the cluster (a shard added or removed, a node moved: a
/// <see cref="ClusterDeclaration"/> of a higher generation). Views are never made here: the router's reconciler
/// (<see cref="SimulatedReconciler"/>, one or two of them, a second one in some runs behind on its declarations) forms
/// the cluster and carries each declaration out by <see cref="ReconcileDecision"/>, its views reaching the nodes at
/// different times, lost and sent again. Then the network heals, the crashed nodes come back and the cluster runs until
/// nothing changes any more and the reconciler is in sync, and the run is checked: the history for causal violations,
/// every shard's replicas for convergence and key placement, every acknowledged write for survival. Throughout, every
/// view a node installs is checked against every other: no two layouts are ever installed under one epoch, by any node
/// at any time (the promise every node gives before an install, <see cref="ViewPromiseDecision"/>).
/// </summary>
internal sealed class Simulation : IDisposable
{
    public const int NodeCount = 6;
    public const int Sessions = 4;
    public const int KeyCount = 10;
    private const long ChaosTick = 10;

    private readonly int _seed;
    private readonly Random _random;
    private readonly SimulationTrace _trace;
    private readonly SimulatedNetwork _network;
    private readonly List<SimulatedNode> _nodes = [];
    private readonly List<HistoryOperation> _history = [];
    private readonly SimulatedClient _client;
    private readonly string _root;
    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"k{i}").ToArray();
    private readonly List<SimulatedReconciler> _reconcilers = [];
    /// <summary>The layout installed under each epoch, by the first node that installed it.</summary>
    private readonly Dictionary<long, (int Node, ShardView View)> _layouts = [];
    /// <summary>Two layouts found installed under one epoch (checked whenever a node installs a view).</summary>
    private readonly List<string> _epochConflicts = [];
    /// <summary>The newest declaration: the first reconciler always has it, a second one gets it late or never.</summary>
    private ClusterDeclaration _declared;
    /// <summary>The view clients route by: the newest any reconciler saw, as a router routes by the newest it saw.</summary>
    private ShardView _view;
    private HashRing _ring;
    private int _shardNames;
    private int _crashes;

    // How hostile this run is, drawn from the seed (a la FoundationDB's buggify): some runs lose many packets,
    // some change views often, some crash often; the fixed seeds cover each mix.
    private readonly double _cutRate;
    private readonly double _crashRate;
    private readonly bool _checkLiveness;
    private readonly double _viewChangeRate;
    /// <summary>How late a second reconciler gets each declaration, in ms (-1: never; it keeps its first).</summary>
    private readonly long _declarationLag;

    /// <summary>How long after each declaration the first reconciler restarts, forgetting what it saw, in ms (-1: never).</summary>
    private readonly long _restartAfterDeclaration;

    /// <param name="pruneMetadata">answers drop dependencies every replica holds, as the node does (sessions otherwise carry them all)</param>
    /// <param name="traceLines">how many of the last trace lines a result keeps</param>
    /// <param name="checkLiveness">also fail a run in which, healed and quiet, a replica still waits for a catch-up or a
    /// handoff report (its reads would wait forever), or lifted a fence at its timeout (the report it waited for never came)</param>
    /// <param name="addressSplit">for this many ms, the second reconciler (always present then) sees node 0 at another
    /// address than the first does, as when a replica was just replaced and one router resolves its new address and the
    /// other not yet: both decide the same epochs with two layouts (0: no split)</param>
    /// <param name="restartReconciler">the first reconciler restarts a while after each declaration, forgetting the views
    /// and the departed nodes it saw, as a router started again does: a node whose view leaving it out was lost must
    /// still get it, from what the nodes whose fences wait for it report</param>
    public Simulation(int seed, bool pruneMetadata = false, int traceLines = 80, bool checkLiveness = false, long addressSplit = 0,
        bool restartReconciler = false)
    {
        _seed = seed;
        _checkLiveness = checkLiveness;
        _trace = new SimulationTrace(traceLines);
        _random = new Random(seed);
        _network = new SimulatedNetwork(_random, _trace)
        {
            DropRate = Pick(0.0, 0.02, 0.08, 0.25),
            DuplicateRate = Pick(0.0, 0.03, 0.1),
            MaxDelay = Pick(5, 40, 150),
        };
        _cutRate = Pick(0.005, 0.02, 0.05);
        _crashRate = Pick(0.001, 0.005, 0.015);
        _viewChangeRate = Pick(0.002, 0.006, 0.015);
        var reconcilers = Pick(1, 1, 2);
        if (addressSplit > 0) reconcilers = 2;
        _declarationLag = reconcilers == 1 ? 0 : Pick(0L, 300L, 3000L, -1L);
        // How far apart the nodes' wall clocks are: mostly a few ms, in some runs seconds. Drawn apart from the run's
        // other choices, so a seed with little skew replays as it did before skew grew.
        var skewScale = new[] { 1, 1, 20, 200, 1000 }[new Random(~seed).Next(5)];
        // Drawn apart too, so a seed replays as it did without restarts up to the first one.
        _restartAfterDeclaration = restartReconciler ? new Random(seed ^ 0x5EED).Next(1, 2000) : -1;
        _trace.Add(0, $"seed {seed}: drops {_network.DropRate}, duplicates {_network.DuplicateRate}, delays up to {_network.MaxDelay} ms, " +
            $"per {ChaosTick} ms: cut {_cutRate}, crash {_crashRate}, view change {_viewChangeRate}, clock skew up to {30 * skewScale} ms, " +
            $"{reconcilers} reconcilers{(reconcilers > 1 ? $" (the second's declarations {(_declarationLag < 0 ? "never updated" : $"{_declarationLag} ms late")})" : "")}" +
            (addressSplit > 0 ? $", the second sees node 0 at another address for {addressSplit} ms" : "") +
            (_restartAfterDeclaration >= 0 ? $", the first restarts {_restartAfterDeclaration} ms after each declaration" : ""));
        _root = Directory.CreateTempSubdirectory($"causalkv-sim-{seed}-").FullName;
        for (var i = 0; i < NodeCount; i++)
        {
            var skew = _random.Next(-30, 31) * skewScale;
            _nodes.Add(new SimulatedNode(i, Path.Combine(_root, $"node{i}"), _network, _trace, new SimulatedClock(() => _network.Now, skew, _network), pruneMetadata));
        }
        foreach (var node in _nodes) node.ViewInstalled = Installed;
        _network.IsUp = id => _nodes[id].IsUp;
        _network.Deliver = m => _nodes[m.To].Receive(m);
        _declared = ClusterDeclaration.Create(1, [new("s0", [Name(0), Name(1), Name(2)]), new("s1", [Name(3), Name(4), Name(5)])]);
        _shardNames = 2;
        // Until the reconciler formed the cluster (no client runs before), the view it is about to install.
        _view = _declared.ToView(_declared.FirstEpoch, Address);
        _ring = _view.CreateRing();
        for (var r = 0; r < reconcilers; r++)
        {
            Func<DeclaredMember, string?> address = r == 1 && addressSplit > 0
                ? m => m.Name == Name(0) && _network.Now < addressSplit ? "node0-replaced:8080" : Address(m)
                : Address;
            _reconcilers.Add(new SimulatedReconciler($"r{r}", _declared, _network, _random, _trace, _nodes, address)
            {
                Followed = view =>
                {
                    if (view.Epoch <= _view.Epoch) return;
                    _view = view;
                    _ring = view.CreateRing();
                },
            });
        }
        _client = new SimulatedClient(_random, _network, _trace, () => _view, _nodes, _history, Sessions);
        foreach (var node in _nodes) node.Executed = _client.Executed;
    }

    /// <summary>A node installed <paramref name="view"/>: a violation if another node (or itself) ever installed another layout under its epoch.</summary>
    private void Installed(int node, ShardView view)
    {
        if (!_layouts.TryGetValue(view.Epoch, out var first))
        {
            _layouts[view.Epoch] = (node, view);
            return;
        }
        if (first.View.SameLayoutAs(view)) return;
        var conflict = $"two layouts under epoch {view.Epoch}: node {first.Node} installed {first.View}, node {node} installed {view} at {_network.Now} ms";
        _trace.Add(_network.Now, conflict);
        _epochConflicts.Add(conflict);
    }

    private T Pick<T>(params T[] choices) => choices[_random.Next(choices.Length)];

    private static string Name(int id) => $"node{id}";

    /// <summary>Where a declared member listens: its name at the node's port (the router's default resolution).</summary>
    private static string Address(DeclaredMember member) => member.Name + ":8080";

    public static SimulationResult Run(int seed, int operations, bool pruneMetadata = false, int traceLines = 80, bool checkLiveness = false,
        long addressSplit = 0, bool restartReconciler = false)
    {
        using var simulation = new Simulation(seed, pruneMetadata, traceLines, checkLiveness, addressSplit, restartReconciler);
        return simulation.Run(operations);
    }

    private SimulationResult Run(int operations)
    {
        var violations = new List<string>();
        try
        {
            foreach (var node in _nodes) node.Start(null);
            foreach (var reconciler in _reconcilers) reconciler.Start();
            violations.AddRange(Form());
            var issued = 0;
            while (issued < operations && violations.Count == 0)
            {
                _network.RunUntil(_network.Now + ChaosTick);
                if (_random.NextDouble() < 0.5 && _client.IssueOne(_keys)) issued++;
                Chaos();
            }
            Heal();
            if (violations.Count == 0) violations.AddRange(Quiesce());
            if (violations.Count == 0) violations.AddRange(CheckFinalState());
            violations.AddRange(_epochConflicts);
            violations.AddRange(HistoryChecker.Check(_history));
            violations.AddRange(_network.Escapes.Distinct().Select(e => $"work escaped the simulation's thread (it would run on real time): {e}"));
        }
        catch (Exception e)
        {
            violations.Add($"the run threw {e}");
        }
        return new SimulationResult(_seed, _history.Count, _history.Count(o => o.IsRead), _history.Count(o => o.IsWrite && o.Executed),
            _client.Waits, _client.Abandoned, _crashes, ViewChanges, _network.Now, violations, _trace.Tail(),
            _nodes.Sum(n => n.Scans), _nodes.Sum(n => n.LogEntriesShed), _trace.Events, _trace.Digest,
            Rounds(ReconcileAction.Resend), Rounds(ReconcileAction.StandDown)) { PromisesRefused = _reconcilers.Sum(r => r.PromisesRefused) };
    }

    private void Chaos()
    {
        var a = _random.Next(NodeCount);
        var b = _random.Next(NodeCount);
        if (_random.NextDouble() < _cutRate && a != b) _network.Cut(a, b);
        if (_random.NextDouble() < _cutRate)
        {
            var cuts = _network.Cuts.ToList();
            if (cuts.Count > 0)
            {
                var (x, y) = cuts[_random.Next(cuts.Count)];
                _network.Heal(x, y);
            }
        }
        if (_random.NextDouble() < _crashRate && _nodes.Count(n => !n.IsUp) < 2 && _nodes[a].IsUp)
        {
            var node = _nodes[a];
            node.Crash();
            _crashes++;
            // Now and then the machine comes back with its wall clock set back.
            var stepBack = _random.NextDouble() < 0.3 ? _random.Next(1, 1000) : 0;
            _network.After(20 + _random.Next(500), () =>
            {
                if (node.IsUp) return;
                if (stepBack > 0)
                {
                    node.Clock.Skew -= stepBack;
                    _trace.Add(_network.Now, $"node {node.Id}'s clock steps back {stepBack} ms");
                }
                // It resumes from its membership file; what it missed meanwhile the reconciler sends it when it next sees it.
                node.Start(null);
            });
        }
        if (_random.NextDouble() < _viewChangeRate) ChangeView();
    }

    private int Rounds(ReconcileAction action) => _reconcilers.Sum(r => r.Rounds.TryGetValue(action, out var n) ? n : 0);

    /// <summary>Views installed after the first (distinct epochs the reconcilers installed).</summary>
    private int ViewChanges => Math.Max(0, _reconcilers.SelectMany(r => r.Installed).Distinct().Count() - 1);

    /// <summary>The reconciler forms the cluster from nodes without a view; no client runs before (a violation if it never does).</summary>
    private IEnumerable<string> Form()
    {
        for (var waited = 0L; waited < 30_000; waited += ChaosTick)
        {
            if (_reconcilers[0].Last?.Action == ReconcileAction.InSync) return [];
            _network.RunUntil(_network.Now + ChaosTick);
        }
        return [$"the reconciler did not form the cluster within 30 s: {_reconcilers[0].Last?.Action} {_reconcilers[0].Last?.Reason} [{string.Join("; ", _reconcilers[0].Last?.Blockers ?? [])}]"];
    }

    /// <summary>
    /// An operator's change of the declared cluster, of a generation one higher: a shard added (from spare nodes or a
    /// replica taken from a shard that has several), a shard removed (its nodes leave, or join the other shards), or a
    /// node moved. The first reconciler gets it at once, a second one later or never.
    /// </summary>
    private void ChangeView()
    {
        var shards = _declared.Shards.ToDictionary(s => s.Name, s => s.Members.Select(m => m.Name).ToList(), StringComparer.Ordinal);
        var spare = Enumerable.Range(0, NodeCount).Select(Name).Where(n => !shards.Values.Any(s => s.Contains(n))).ToList();
        var roll = _random.NextDouble();
        string what;
        if (roll < 0.35 && shards.Count < 4)
        {
            var name = $"s{_shardNames++}";
            var members = new List<string>();
            if (spare.Count > 0) members.AddRange(spare.Take(1 + _random.Next(spare.Count)));
            else
            {
                var donor = shards.Where(s => s.Value.Count > 1).Select(s => s.Key).Order(StringComparer.Ordinal).ToList();
                if (donor.Count == 0) return;
                var from = shards[donor[_random.Next(donor.Count)]];
                var taken = from[_random.Next(from.Count)];
                from.Remove(taken);
                members.Add(taken);
            }
            shards[name] = members;
            what = $"add shard {name} with [{string.Join(",", members)}]";
        }
        else if (roll < 0.6 && shards.Count > 1)
        {
            var names = shards.Keys.Order(StringComparer.Ordinal).ToList();
            var removed = names[_random.Next(names.Count)];
            var members = shards[removed];
            shards.Remove(removed);
            var join = _random.NextDouble() < 0.5;
            if (join)
            {
                // Its nodes join the remaining shards instead of leaving the cluster.
                var rest = shards.Keys.Order(StringComparer.Ordinal).ToList();
                foreach (var m in members) shards[rest[_random.Next(rest.Count)]].Add(m);
            }
            what = $"remove shard {removed}, its nodes {(join ? "join the others" : "leave")}";
        }
        else
        {
            var donors = shards.Where(s => s.Value.Count > 1).Select(s => s.Key).Order(StringComparer.Ordinal).ToList();
            if (donors.Count == 0 || shards.Count < 2) return;
            var from = donors[_random.Next(donors.Count)];
            var to = shards.Keys.Where(s => s != from).Order(StringComparer.Ordinal).ToList()[_random.Next(shards.Count - 1)];
            var moved = shards[from][_random.Next(shards[from].Count)];
            shards[from].Remove(moved);
            shards[to].Add(moved);
            what = $"move {moved} from {from} to {to}";
        }
        var layout = shards.OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => new KeyValuePair<string, IReadOnlyList<string>>(s.Key, s.Value)).ToList();
        var next = ClusterDeclaration.Create(_declared.Generation + 1, layout);
        _declared = next;
        _trace.Add(_network.Now, $"declare {next} ({what})");
        _reconcilers[0].Declare(next);
        if (_restartAfterDeclaration >= 0) _network.After(_restartAfterDeclaration, _reconcilers[0].Restart);
        foreach (var late in _reconcilers.Skip(1))
            if (_declarationLag >= 0) _network.After(_declarationLag, () => late.Declare(next));
    }

    private void Heal()
    {
        _trace.Add(_network.Now, "heal: no more losses, cuts or crashes");
        _network.DropRate = 0;
        _network.DuplicateRate = 0;
        _network.HealAll();
        // Back from their membership files; the reconciler sends each what it missed when it next sees it.
        foreach (var node in _nodes.Where(n => !n.IsUp)) node.Start(null);
    }

    /// <summary>
    /// Runs until the cluster settled: a round changed nothing anywhere, no client or view change is still at work, every
    /// reconciler found nothing more to do (the one with the newest declaration in sync with it, an older one standing down),
    /// every replica of a shard holds the same frontier, no node holds a key it does not own, and (checking liveness)
    /// no replica still catches up or waits for a handoff. The node's background work runs at its own pace (strays are
    /// swept every 2 s, owed handoffs and reports retried after growing pauses), so a quiet round alone proves nothing.
    /// A violation if the cluster still changes after 200 rounds; what never settled is then named by the final checks.
    /// </summary>
    private IEnumerable<string> Quiesce()
    {
        string? last = null;
        for (var round = 0; round < 200; round++)
        {
            _network.RunUntil(_network.Now + 4 * SimulatedNode.GossipInterval);
            var now = Fingerprint();
            var quiet = now == last && !_client.AnyBusy && _nodes.All(n => n.ViewChangesRunning == 0) && Reconciled();
            if (quiet && ReplicasInSync() && KeysInPlace() && (!_checkLiveness || _nodes.All(n => !_view.Contains(n.Id) || (n.CaughtUp && !n.FenceAnyPending())))) return [];
            last = now;
        }
        if (!Reconciled())
            return [.. _reconcilers.Where(r => !r.Settled || r.Declaration == _declared && r.Last?.Action != ReconcileAction.InSync).Select(r =>
                $"the reconciler {r.Name} ({r.Declaration}) did not finish in a healed network: {r.Last?.Action} {r.Last?.Reason} [{string.Join("; ", r.Last?.Blockers ?? [])}]")];
        return _client.AnyBusy || Fingerprint() != last
            ? [$"no quiescence: the cluster still changes after 200 rounds of gossip in a healed network"]
            : [];
    }

    /// <summary>Every reconciler is done: those with the newest declaration in sync with it, the others standing down or in sync.</summary>
    private bool Reconciled() =>
        _reconcilers.All(r => r.Settled && (r.Declaration != _declared || r.Last!.Action == ReconcileAction.InSync));

    private bool KeysInPlace() => _nodes.All(n => n.Store!.All.All(kv => _ring.ShardFor(kv.Key) == n.Shard));

    /// <summary>True when the replicas of every shard report the same frontier: no replica lacks a write another holds.</summary>
    private bool ReplicasInSync()
    {
        foreach (var shard in _view.ShardNames)
        {
            var frontiers = _view.NodesOf(shard).Select(n => _nodes[n.Id].Store!.AppliedSnapshot()).ToList();
            if (frontiers.Skip(1).Any(other => other != frontiers[0])) return false;
        }
        return true;
    }

    private string Fingerprint()
    {
        var text = new StringBuilder();
        foreach (var node in _nodes)
        {
            text.Append(node.Id).Append('@').Append(node.View?.Epoch).Append(':');
            foreach (var (k, v) in node.Store!.All.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                text.Append(k).Append('=').Append(v.Value).Append(v.Tag).Append(v.Clock).Append(';');
            foreach (var (o, s) in node.Store.AppliedSnapshot().OrderBy(kv => kv.Key)) text.Append(o).Append('/').Append(s).Append(',');
            text.Append('|');
        }
        return text.ToString();
    }

    private IEnumerable<string> CheckFinalState()
    {
        if (!_declared.ToView(_view.Epoch, Address).SameLayoutAs(_view))
            yield return $"the view in force (epoch {_view.Epoch}: {_view}) is not the newest declaration ({_declared})";
        foreach (var node in _view.AllNodes.Select(n => _nodes[n.Id]).Where(n => n.View?.Epoch != _view.Epoch))
            yield return $"node {node.Id} follows epoch {node.View?.Epoch} after the heal, not {_view.Epoch}";
        // A node the views left out must have installed one without itself: else it never handed its keys off.
        foreach (var node in _nodes.Where(n => !_view.Contains(n.Id) && n.Shard is not null))
            yield return $"node {node.Id} is in no shard of epoch {_view.Epoch} but still follows epoch {node.View?.Epoch} as a replica of {node.Shard}";
        // Liveness: healed and quiet, no replica may still owe a catch-up or wait for a handoff; its reads would wait forever.
        foreach (var node in _checkLiveness ? _view.AllNodes.Select(n => _nodes[n.Id]) : [])
            if (!node.CaughtUp || node.FenceAnyPending())
                yield return $"node {node.Id} still {(node.CaughtUp ? "waits for keys from another shard" : "catches up")} after the heal: its reads would wait forever ({node.DescribeFence()})";
        foreach (var node in _checkLiveness ? _nodes.Where(n => n.FencesLiftedByTimeout > 0) : [])
            yield return $"node {node.Id} lifted {node.FencesLiftedByTimeout} handoff fences at their timeout: the reports they waited for never came";
        foreach (var shard in _view.ShardNames)
        {
            var replicas = _view.NodesOf(shard).Select(n => _nodes[n.Id]).ToList();
            var first = replicas[0];
            foreach (var other in replicas.Skip(1))
            {
                foreach (var key in first.Store!.All.Select(kv => kv.Key).Union(other.Store!.All.Select(kv => kv.Key)).Order(StringComparer.Ordinal))
                {
                    var a = first.Store.Get(key);
                    var b = other.Store.Get(key);
                    if (a is null || b is null || !a.SameStateAs(b))
                        yield return $"not converged: shard {shard} key '{key}' is {Show(a)} on node {first.Id} and {Show(b)} on node {other.Id}";
                }
            }
        }
        foreach (var node in _nodes)
            foreach (var key in node.Store!.All.Select(kv => kv.Key).Order(StringComparer.Ordinal))
                if (_ring.ShardFor(key) is var owner && owner != node.Shard)
                    yield return $"misplaced key: node {node.Id} (shard {node.Shard ?? "none"}) holds '{key}', owned by shard {owner}";
        foreach (var write in _history.Where(o => o.IsWrite && o.Executed && o.Completed))
        {
            var owner = _view.NodesOf(_ring.ShardFor(write.Key))[0].Id;
            var final = _nodes[owner].Store!.Get(write.Key);
            if (final is null || final.Clock[write.Origin] < write.Seq)
                yield return $"acknowledged write lost: {write} (dot {write.Origin}:{write.Seq}) is not in the final version {Show(final)} on node {owner}";
        }
    }

    private static string Show(StoredVersion? v) =>
        v is null ? "missing" : $"{v.Value ?? "(deleted)"} tag {v.Tag.Timestamp}/{v.Tag.Node} clock {v.Clock}";

    public void Dispose()
    {
        foreach (var node in _nodes) node.Stop();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
