using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace CausalKv.Router.Discovery;

/// <summary>
/// Asks every known node for its view (<c>GET /view</c>) every poll interval and hands the answers to the
/// <see cref="ViewTracker"/>, so a view changed anywhere is routed by within about one interval.
/// Polls make no spans: several a second per node would bury the traces people look for.
/// </summary>
internal sealed class ViewPoller(ViewTracker views, NodeTransport transport, IOptions<RouterOptions> options,
    IOptions<Reconciliation.DeclarationOptions> declaration, ILogger<ViewPoller> log)
    : BackgroundService
{
    private readonly TimeSpan _interval = options.Value.ViewPollInterval;
    private readonly TimeSpan _timeout = options.Value.ViewPollTimeout;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A declared cluster's members are asked by the reconciler, which passes on what they hold.
        if (views.Seeds.Count == 0 && !declaration.Value.IsDeclared)
        {
            RouterLog.NoSeeds(log);
        }
        using var timer = new PeriodicTimer(_interval);
        try
        {
            do
            {
                await PollOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One round over every known node; returns when all answered or timed out.</summary>
    public async Task PollOnceAsync(CancellationToken ct)
    {
        using var quiet = SuppressInstrumentationScope.Begin();
        var answers = await Task.WhenAll(views.PollTargets().Select(target => AskAsync(target, ct)));
        foreach (var answer in answers)
        {
            if (answer is var (epoch, view)) views.Observe(epoch, view);
        }
    }

    private async Task<(long Epoch, ShardView? View)?> AskAsync(string baseUrl, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await transport.Client.GetAsync(baseUrl + "/view", timeout.Token);
            if (!response.IsSuccessStatusCode) return null;
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            if (ViewJson.TryReadNodeAnswer(body, out var epoch, out var view)) return (epoch, view);
            RouterLog.ViewAnswerUnreadable(log, baseUrl);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }
    }
}
