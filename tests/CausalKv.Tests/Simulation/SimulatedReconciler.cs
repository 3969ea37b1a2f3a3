using CausalKv.Sharding;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// The router's reconciler (<c>ClusterReconciler</c>) on the simulated network: only its input and output, none of its
/// rules. Every round asks the nodes <see cref="ReconcileDecision.ProbeTargets"/> names for their view (<c>GET /view</c>:
/// an up node answers with the epoch and view it holds, a down one refuses the connection, a lost packet is an answer
/// that never comes), follows the newest view it saw and the nodes it left out (<see cref="DepartedNodes"/>), lets
/// <see cref="ReconcileDecision.Decide"/> say what to do, and does it as the router's broadcaster does: every target
/// asked to promise the view first (<c>POST /view/prepare</c>: one that does not answer refuses the change, 503, and one
/// that promised or installed another layout under its epoch, or installed a higher epoch, refuses it, 409, whose epoch this
/// reconciler then knows; either way before any node got it), then <c>PUT /view</c> to all of them, each on its own
/// delay and possibly lost, and the round waits for every answer or its timeout. After a
/// round that sent a view the next one starts at once, else after <see cref="Interval"/>. Packets between it and the
/// nodes take 1-80 ms and are lost at the network's drop rate, sent again once, and lost twice fail the request.
/// </summary>
internal sealed class SimulatedReconciler
{
    /// <summary>Pause between rounds that sent nothing (the router's ReconcileInterval: 1 s).</summary>
    public const long Interval = 100;

    /// <summary>How long a probe or a ping waits for its answer (the router's ViewProbeTimeout: 2 s).</summary>
    public const long ProbeTimeout = 300;

    /// <summary>
    /// How long a <c>PUT /view</c> waits for the node's answer, which comes once its handoff is done: above the node's
    /// handoff deadline (here 10 s), as the router's ViewChangeTimeout (60 s) is above the node's (30 s); a shorter one
    /// would pile resends up behind a handoff still at work.
    /// </summary>
    public const long ChangeTimeout = 15_000;

    private const int MaxDelay = 80;
    private const long Retransmit = 60;

    private readonly SimulatedNetwork _network;
    private readonly Random _random;
    private readonly SimulationTrace _trace;
    private readonly IReadOnlyList<SimulatedNode> _nodes;
    private readonly Func<DeclaredMember, string?> _address;
    private DepartedNodes _departed = new();
    private int _incarnation;
    private string? _lastLogged;
    private bool _running;

    public SimulatedReconciler(string name, ClusterDeclaration declaration, SimulatedNetwork network, Random random, SimulationTrace trace,
        IReadOnlyList<SimulatedNode> nodes, Func<DeclaredMember, string?> address)
    {
        Name = name;
        Declaration = declaration;
        _network = network;
        _random = random;
        _trace = trace;
        _nodes = nodes;
        _address = address;
    }

    public string Name { get; }

    public ClusterDeclaration Declaration { get; private set; }

    /// <summary>The newest view any node reported or this reconciler installed (what the router routes by).</summary>
    public ShardView? Newest { get; private set; }

    /// <summary>The highest epoch any node reported.</summary>
    public long HighestEpoch { get; private set; }

    /// <summary>The last round's decision (null before the first round ended).</summary>
    public ReconcileDecision? Last { get; private set; }

    /// <summary>True while a round is at work: probing, or waiting for the answers to a view it sent.</summary>
    public bool Busy { get; private set; }

    /// <summary>Rounds by what they decided.</summary>
    public IDictionary<ReconcileAction, int> Rounds { get; } = new SortedDictionary<ReconcileAction, int>();

    /// <summary>Views sent with <see cref="ReconcileAction.Install"/>, by epoch.</summary>
    public ISet<long> Installed { get; } = new SortedSet<long>();

    /// <summary>Views this reconciler sent to no node because a node had promised or installed another (409).</summary>
    public int PromisesRefused { get; private set; }

    /// <summary>Called when <see cref="Newest"/> moves to a view of a higher epoch.</summary>
    public Action<ShardView>? Followed { get; init; }

    /// <summary>True when the last round found nothing to do: every member holds the declared view, or a newer generation rules.</summary>
    public bool Settled => !Busy && Last?.Action is ReconcileAction.InSync or ReconcileAction.StandDown;

    /// <summary>A new declaration (<c>PUT /cluster/declaration</c>), taken under the router's rule (<see cref="ClusterDeclaration.MayReplace"/>).</summary>
    public bool Declare(ClusterDeclaration declaration)
    {
        if (!declaration.MayReplace(Declaration, out var error))
        {
            _trace.Add(_network.Now, $"reconcile {Name}: declaration refused: {error}");
            return false;
        }
        Declaration = declaration;
        _trace.Add(_network.Now, $"reconcile {Name}: declared {declaration}");
        return true;
    }

    /// <summary>
    /// The router started again: it forgets the views it followed, the highest epoch it saw and the nodes it saw leave,
    /// and learns them again from the nodes' answers (<c>GET /view</c> names the departed nodes a fence still waits
    /// for). Its declaration is configuration and stays. A round at work ends with the old process: requests already
    /// sent still reach the nodes, their answers reach nobody, and the new process starts its first round within an interval.
    /// </summary>
    public void Restart()
    {
        _trace.Add(_network.Now, $"reconcile {Name}: restarted; it forgets departed nodes [{string.Join(",", _departed.Nodes.Select(n => n.Id))}] and the views it saw");
        _incarnation++;
        Newest = null;
        HighestEpoch = 0;
        _departed = new DepartedNodes();
        Busy = false;
        Last = null;
        if (_running) Next(1 + _random.Next((int)Interval));
    }

    /// <summary>Starts the loop: the first round within one interval.</summary>
    public void Start()
    {
        if (_running) return;
        _running = true;
        Next(1 + _random.Next((int)Interval));
    }

    private void Next(long delay) => _network.After(delay, Round);

    private void Round()
    {
        var incarnation = _incarnation;
        Busy = true;
        var declaration = Declaration;
        _departed.Follow(Newest);
        var targets = ReconcileDecision.ProbeTargets(declaration, _address, Newest, _departed.Nodes);
        var probes = new Dictionary<int, ProbedNode>();
        var done = false;
        foreach (var target in targets)
        {
            Ask(target, node =>
            {
                if (done || incarnation != _incarnation) return;
                if (node is not null) Observe(node.View?.Epoch ?? 0, node.View);
                probes[target.Id] = node is null
                    ? ProbedNode.Silent(target.Id, target.Address, "could not connect")
                    : ProbedNode.Holding(target.Id, target.Address, node.View?.Epoch ?? 0, node.Id) with { Departed = node.Departed };
                if (probes.Count == targets.Count) Decided();
            });
        }
        _network.After(ProbeTimeout, () =>
        {
            if (done || incarnation != _incarnation) return;
            foreach (var target in targets.Where(t => !probes.ContainsKey(t.Id)))
                probes[target.Id] = ProbedNode.Silent(target.Id, target.Address, $"no answer within {ProbeTimeout} ms");
            Decided();
        });
        if (targets.Count == 0) Decided();

        void Decided()
        {
            done = true;
            _departed.Follow(Newest);
            _departed.Seen(probes.Values);
            Act(declaration, ReconcileDecision.Decide(declaration, _address, Newest, HighestEpoch, probes, _departed.Nodes));
        }
    }

    private void Act(ClusterDeclaration declaration, ReconcileDecision decision)
    {
        Last = decision;
        Rounds[decision.Action] = Rounds.TryGetValue(decision.Action, out var n) ? n + 1 : 1;
        var line = $"reconcile {Name}: {decision.Action} {decision.Reason}" + (decision.Blockers.Count == 0 ? "" : " [" + string.Join("; ", decision.Blockers) + "]");
        if (decision.Action is not (ReconcileAction.Install or ReconcileAction.Resend))
        {
            // As the router logs a decision: when it differs from the last one.
            if (line != _lastLogged) _trace.Add(_network.Now, line);
            _lastLogged = line;
            Busy = false;
            Next(Interval);
            return;
        }
        _lastLogged = null;
        var view = decision.View!;
        _trace.Add(_network.Now, $"{line} -> generation {declaration.Generation} epoch {view.Epoch} to nodes [{string.Join(",", decision.Targets.Select(t => t.Id))}]");
        if (decision.Action == ReconcileAction.Install) Installed.Add(view.Epoch);
        Broadcast(view, decision.Targets, acted =>
        {
            Busy = false;
            Next(acted ? 1 : Interval);
        });
    }

    /// <summary>The broadcaster's install: every target asked to promise the view, then the view sent to all; true when the round moved something.</summary>
    private void Broadcast(ShardView view, IReadOnlyList<ViewNode> targets, Action<bool> finished)
    {
        var incarnation = _incarnation;
        var promised = new Dictionary<int, (int Status, long Holds)?>();
        var done = false;
        foreach (var target in targets)
        {
            Prepare(target, view, answer =>
            {
                if (done || incarnation != _incarnation) return;
                promised[target.Id] = answer;
                if (promised.Count == targets.Count) Send();
            });
        }
        _network.After(ProbeTimeout, () =>
        {
            if (done || incarnation != _incarnation) return;
            foreach (var target in targets.Where(t => !promised.ContainsKey(t.Id))) promised[target.Id] = null;
            Send();
        });

        void Send()
        {
            done = true;
            var refused = targets.Where(t => promised[t.Id]?.Status == 409).ToList();
            if (refused.Count > 0)
            {
                // As the broadcaster does: the epochs the refusing nodes hold are known from here on.
                var holds = refused.Max(t => promised[t.Id]!.Value.Holds);
                HighestEpoch = Math.Max(HighestEpoch, holds);
                PromisesRefused++;
                _trace.Add(_network.Now, $"reconcile {Name}: epoch {view.Epoch} refused (409): node {string.Join(",", refused.Select(t => t.Id))} " +
                    $"installed or promised another view (up to epoch {holds}); nothing sent");
                finished(false);
                return;
            }
            var unreachable = targets.Where(t => promised[t.Id] is null).Select(t => t.Id).ToList();
            if (unreachable.Count > 0)
            {
                _trace.Add(_network.Now, $"reconcile {Name}: epoch {view.Epoch} refused (503): node {string.Join(",", unreachable)} does not answer POST /view/prepare; nothing sent");
                finished(false);
                return;
            }
            var answers = new Dictionary<int, string>();
            var over = false;
            foreach (var target in targets)
            {
                Put(target, view, (status, epoch) =>
                {
                    if (over || incarnation != _incarnation) return;
                    if (epoch == view.Epoch) Observe(view.Epoch, view);
                    answers[target.Id] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (answers.Count == targets.Count) End();
                });
            }
            _network.After(ChangeTimeout, () =>
            {
                if (over || incarnation != _incarnation) return;
                foreach (var target in targets.Where(t => !answers.ContainsKey(t.Id))) answers[target.Id] = "504";
                End();
            });

            void End()
            {
                over = true;
                var failed = answers.Where(a => a.Value != "200").OrderBy(a => a.Key).Select(a => $"node {a.Key}: {a.Value}").ToList();
                if (failed.Count > 0) _trace.Add(_network.Now, $"reconcile {Name}: epoch {view.Epoch} not installed everywhere: {string.Join(", ", failed)}");
                finished(true);
            }
        }
    }

    /// <summary>
    /// A request to <paramref name="target"/>: <paramref name="answer"/> gets the node's id and the view it held when it
    /// answered, null when it refused the connection (down), and is never called when a packet was lost.
    /// </summary>
    private void Ask(ViewNode target, Action<NodeAnswer?> answer) => Leg(() =>
    {
        var node = _nodes[target.Id];
        NodeAnswer? held = node.IsUp ? new NodeAnswer(node.Id, node.View, node.Departed) : null;
        Leg(() => answer(held), () => answer(null));
    }, () => answer(null));

    /// <summary>A node's answer to <c>GET /view</c>: who answered, the view it holds, and the departed nodes it waits for.</summary>
    private sealed record NodeAnswer(int Id, ShardView? View, IReadOnlyList<DepartedNode> Departed);

    /// <summary>
    /// A <c>POST /view/prepare</c>: the node decides on arrival, and its answer (the status, and the highest epoch it
    /// installed or promised) comes back the same way; null when it refused the connection or a packet was lost twice.
    /// </summary>
    private void Prepare(ViewNode target, ShardView view, Action<(int Status, long Holds)?> answer) => Leg(() =>
    {
        var promise = _nodes[target.Id].PrepareView(view);
        Leg(() => answer(promise), () => answer(null));
    }, () => answer(null));

    /// <summary>A <c>PUT /view</c>: delivered after a delay unless lost; the node's answer comes back the same way.</summary>
    private void Put(ViewNode target, ShardView view, Action<int, long> answer) =>
        Leg(() => _nodes[target.Id].InstallView(view, (status, epoch) => Leg(() => answer(status, epoch), () => answer(502, 0))),
            () => answer(502, 0));

    /// <summary>
    /// One way of a request or its answer over the router's connection: 1-80 ms; a packet lost (at the network's drop
    /// rate) is sent again after <see cref="Retransmit"/> ms, and lost a second time the connection breaks: the request
    /// fails (<paramref name="broken"/>), as a reset connection fails an HTTP request.
    /// </summary>
    private void Leg(Action arrive, Action broken)
    {
        if (!Lost()) _network.After(Delay(), arrive);
        else if (!Lost()) _network.After(Retransmit + Delay(), arrive);
        else _network.After(2 * Retransmit, broken);
    }

    private void Observe(long epoch, ShardView? view)
    {
        HighestEpoch = Math.Max(HighestEpoch, Math.Max(epoch, view?.Epoch ?? 0));
        if (view is null || view.Epoch <= (Newest?.Epoch ?? 0)) return;
        Newest = view;
        Followed?.Invoke(view);
    }

    private bool Lost() => _random.NextDouble() < _network.DropRate;

    private long Delay() => 1 + _random.Next(MaxDelay);
}
