using System.Diagnostics;
using System.Text.Json;
using CausalKv.Protocol;
using CausalKv.Router.Discovery;
using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace CausalKv.Router.Reconciliation;

/// <summary>
/// Makes the running view match the declared cluster, one round every <see cref="DeclarationOptions.ReconcileInterval"/>:
/// resolves every member's address, asks each (and every node of the view in force, and every node an earlier view left
/// out that has not been seen holding a later one: <see cref="DepartedNodes"/>, as this router saw them leave or as the
/// nodes whose fences wait for them report them, so a router started after the change asks them too) for its view with <c>GET /view</c>,
/// lets <see cref="ReconcileDecision"/> say what to do, and does it through the <see cref="ViewBroadcaster"/> (one change
/// at a time, also with <c>PUT /view</c> at the router). The decision is pure; this loop only moves messages, logs a
/// decision when its reason changes, and reports the last round in <c>GET /cluster/state</c>.
/// Several routers may run it: epochs derive from the generation (see <see cref="ClusterDeclaration"/>), and the
/// broadcaster installs a view only once every node it involves promised it, so two routers never install two layouts
/// under one epoch; a round refused that way (409) waits an interval, and the next decides above the epoch the nodes hold.
/// </summary>
internal sealed class ClusterReconciler(
    ViewTracker views, ViewBroadcaster broadcaster, NodeTransport transport, MemberAddresses addresses,
    IOptions<DeclarationOptions> options, IOptions<RouterOptions> routerOptions, RouterTelemetry telemetry,
    TimeProvider time, ILogger<ClusterReconciler> log) : BackgroundService
{
    private readonly TimeSpan _interval = options.Value.ReconcileInterval;
    private readonly TimeSpan _probeTimeout = routerOptions.Value.ViewProbeTimeout;
    private readonly long _started = time.GetTimestamp();
    private readonly Lock _gate = new();
    private ClusterDeclaration _declaration = Build(options.Value);
    private ReconcilerReport? _report;
    private string? _lastLogged;
    private int _rounds, _installs, _resends;
    private long? _formedAfterMs;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly DepartedNodes _departed = new();

    public ClusterDeclaration Declaration => Volatile.Read(ref _declaration);

    public ReconcilerReport? Report => Volatile.Read(ref _report);

    private static ClusterDeclaration Build(DeclarationOptions o) =>
        o.TryBuild(out var d, out var error) ? d! : throw new InvalidOperationException("CausalKv:Cluster: " + error);

    /// <summary>
    /// Takes a newer declaration (<c>PUT /cluster/declaration</c>): a higher generation, or the same one unchanged.
    /// An older generation, or another layout under the same one, is refused: generations are what keep two routers
    /// from undoing each other.
    /// </summary>
    public bool TryDeclare(ClusterDeclaration declaration, out string? error)
    {
        lock (_gate)
        {
            if (!declaration.MayReplace(_declaration, out error)) return false;
            _declaration = declaration;
        }
        if (_wake.CurrentCount == 0) { try { _wake.Release(); } catch (SemaphoreFullException) { } }
        error = null;
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        RouterLog.ReconcilerStarted(log, Declaration.ToString());
        telemetry.ObserveDeclaration(() => Declaration.Generation, () => Report?.Action == nameof(ReconcileAction.InSync) ? 1 : 0);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var acted = false;
                try
                {
                    acted = await RoundAsync(stoppingToken);
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException or ArgumentException)
                {
                    RouterLog.ReconcileFailed(log, e.Message);
                    var last = Report ?? new ReconcilerReport(Declaration.Generation, Declaration.ToString(), nameof(ReconcileAction.Wait), "the first round failed", [], 0, default, 0, 0, 0, null, null);
                    Publish(last with { LastError = e.Message, At = time.GetUtcNow() });
                }
                // After a change, look again at once: the next step (a resend, the in-sync report) should not wait.
                if (!acted) await _wake.WaitAsync(_interval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    /// <summary>One round; true when it sent a view.</summary>
    public async Task<bool> RoundAsync(CancellationToken ct)
    {
        var declaration = Declaration;
        var resolved = new Dictionary<int, string?>();
        var unresolvedWhy = new Dictionary<int, string>();
        foreach (var m in declaration.Members)
        {
            resolved[m.Id] = addresses.Resolve(m.Name, out var why);
            if (why is not null) unresolvedWhy[m.Id] = why;
        }
        _departed.Follow(views.Current.View);
        var targets = ReconcileDecision.ProbeTargets(declaration, m => resolved[m.Id], views.Current.View, _departed.Nodes);

        ProbedNode[] seen;
        using (SuppressInstrumentationScope.Begin())
            seen = await Task.WhenAll(targets.Select(t => ProbeAsync(t.Id, t.Address, ct)));
        var probes = seen.ToDictionary(p => p.Id);
        foreach (var (id, why) in unresolvedWhy) probes[id] = ProbedNode.Unresolved(id, why);
        // A probe may have moved the view in force: nodes it leaves out are departed before the decision.
        var inForce = views.Current.View;
        _departed.Follow(inForce);
        _departed.Seen(probes.Values);

        var decision = ReconcileDecision.Decide(declaration, m => resolved[m.Id], inForce, views.HighestEpoch, probes, _departed.Nodes);
        var acted = false;
        string? error = null;
        if (decision.Action is ReconcileAction.Install or ReconcileAction.Resend)
        {
            using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.Reconcile);
            activity?.SetTag(RouterTelemetry.Tags.ReconcileAction, decision.Action.ToString());
            activity?.SetTag(RouterTelemetry.Tags.Generation, declaration.Generation);
            activity?.SetTag(RouterTelemetry.Tags.Epoch, decision.View!.Epoch);
            activity?.SetTag(RouterTelemetry.Tags.ReconcileReason, decision.Reason);
            RouterLog.Reconciling(log, decision.Action.ToString(), declaration.Generation, decision.View!.Epoch, decision.Reason);
            var result = await broadcaster.InstallAsync(decision.View!, decision.Targets, ct);
            acted = true;
            if (decision.Action == ReconcileAction.Install) _installs++; else _resends++;
            if (!result.AllSucceeded)
            {
                error = result.Error ?? string.Join("; ", result.Nodes.Where(n => n.Status != StatusCodes.Status200OK).Select(n => $"node {n.Id} at {n.Address}: {n.Status} {n.Body}"));
                activity?.SetStatus(ActivityStatusCode.Error, "not every node installed the view");
                RouterLog.ReconcileFailed(log, error);
                // Nothing moved: wait a round rather than spin on nodes that refuse or do not answer.
                acted = result.RefusedWith is null;
            }
            telemetry.ReconcileActions.Add(1, new KeyValuePair<string, object?>(RouterTelemetry.Tags.ReconcileAction, decision.Action.ToString()));
        }
        _rounds++;
        if (decision.Action == ReconcileAction.InSync && _formedAfterMs is null)
        {
            _formedAfterMs = (long)time.GetElapsedTime(_started).TotalMilliseconds;
            RouterLog.ClusterFormed(log, declaration.Generation, views.Current.Epoch, _formedAfterMs.Value);
        }
        var line = $"{decision.Action}: {decision.Reason}" + (decision.Blockers.Count == 0 ? "" : " [" + string.Join("; ", decision.Blockers) + "]");
        if (line != _lastLogged && decision.Action is not (ReconcileAction.Install or ReconcileAction.Resend))
        {
            _lastLogged = line;
            if (decision.Action == ReconcileAction.InSync) RouterLog.ReconcileInSync(log, declaration.Generation, decision.View!.Epoch);
            else RouterLog.ReconcileBlocked(log, decision.Action.ToString(), decision.Reason, string.Join("; ", decision.Blockers));
        }
        Publish(new ReconcilerReport(declaration.Generation, declaration.ToString(), decision.Action.ToString(), decision.Reason,
            [.. decision.Blockers], views.Current.Epoch, time.GetUtcNow(), _rounds, _installs, _resends, _formedAfterMs, error));
        return acted;
    }

    private void Publish(ReconcilerReport report) => Volatile.Write(ref _report, report);

    /// <summary><c>GET /view</c> at a node: which node answers, the epoch (and view) it holds, and the departed nodes it waits for.</summary>
    private async Task<ProbedNode> ProbeAsync(int id, string address, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_probeTimeout);
        try
        {
            using var response = await transport.Client.GetAsync("http://" + address + "/view", timeout.Token);
            if (!response.IsSuccessStatusCode) return ProbedNode.Silent(id, address, $"GET /view answered {(int)response.StatusCode}");
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (!ViewJson.TryReadNodeAnswer(body, out var epoch, out var view)) return ProbedNode.Silent(id, address, "GET /view answered something that is not a node's view");
            views.Observe(epoch, view);
            using var json = JsonDocument.Parse(body);
            int? node = json.RootElement.TryGetProperty("node", out var n) && n.TryGetInt32(out var nodeId) ? nodeId : null;
            return new ProbedNode(id, address, true, node, epoch) { Departed = ViewJson.ReadDeparted(json.RootElement) };
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return ProbedNode.Silent(id, address, ConnectFailure.IsConnectPhase(e) ? "could not connect" : e is OperationCanceledException
                ? $"no answer within {_probeTimeout.TotalMilliseconds:0} ms" : e.Message);
        }
    }
}
