using CausalKv.Router.Discovery;
using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace CausalKv.Router.Health;

/// <summary>
/// Active health: <c>GET /health</c> on every replica of the current view every probe interval, and at once after a
/// view change (a node that just joined answers 503 until its handoff is done). 200 is healthy; anything else, or
/// no answer within the timeout, is not. A replica that stays silent (no answer, not even a refusal) for
/// <see cref="RouterOptions.CutInFlightAfter"/> is taken to be cut off: the requests in flight to it are cancelled
/// (see <see cref="Replica.CutInFlight"/>). A process that died needs no cut: its connections fail by themselves.
/// Probes make no spans.
/// </summary>
internal sealed class ReplicaHealthProber(
    ViewTracker views, NodeTransport transport, IOptions<RouterOptions> options, RouterTelemetry telemetry, ILogger<ReplicaHealthProber> log)
    : BackgroundService
{
    private readonly TimeSpan _interval = options.Value.HealthProbeInterval;
    private readonly TimeSpan _timeout = options.Value.HealthProbeTimeout;
    private readonly TimeSpan _cutAfter = options.Value.CutInFlightAfter;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var viewChanged = views.Changed;
            await ProbeAllAsync(views.Current.AllReplicas, stoppingToken);
            await Task.WhenAny(Task.Delay(_interval, stoppingToken), viewChanged);
        }
    }

    private async Task ProbeAllAsync(IReadOnlyList<Replica> replicas, CancellationToken ct)
    {
        using var quiet = SuppressInstrumentationScope.Begin();
        await Task.WhenAll(replicas.Select(replica => ProbeAsync(replica, ct)));
    }

    private async Task ProbeAsync(Replica replica, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        string verdict;
        bool healthy;
        var silent = false;
        try
        {
            using var response = await transport.Client.GetAsync(replica.BaseUrl + "/health", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            healthy = response.StatusCode == System.Net.HttpStatusCode.OK;
            verdict = $"GET /health answered {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            healthy = false;
            // A timeout (of the probe, or of connecting) is silence; a refusal or a reset is an answer of sorts.
            silent = e is OperationCanceledException;
            verdict = silent ? $"GET /health did not answer within {_timeout.TotalMilliseconds:0} ms" : e.Message;
        }
        if (ct.IsCancellationRequested) return;
        var wasHealthy = replica.Health.ProbeHealthy;
        if (replica.Health.ReportProbe(healthy))
        {
            telemetry.ReplicaEjections.Add(1, new KeyValuePair<string, object?>(RouterTelemetry.Tags.Node, replica.Id));
            RouterLog.ReplicaProbeFailed(log, replica, verdict);
        }
        else if (healthy && !wasHealthy)
        {
            RouterLog.ReplicaHealthy(log, replica);
        }
        if (!silent)
        {
            replica.Health.ReportHeard();
        }
        else if (replica.Health.ReportSilence(Environment.TickCount64, _cutAfter))
        {
            RouterLog.ReplicaSilent(log, replica, _cutAfter.TotalSeconds, replica.Outstanding);
            replica.CutInFlight();
        }
    }
}
