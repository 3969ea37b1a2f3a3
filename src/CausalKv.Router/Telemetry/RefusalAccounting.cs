using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CausalKv.Router.Telemetry;

/// <summary>
/// Counts every request the router refuses itself (a 4xx it answers, not one a node answered through it, which the node
/// counts) in <c>causalkv.requests.refused</c>, by status and endpoint, as the nodes do, and logs each kind of refusal at
/// most once a minute with how many there were since, so that no client can flood the log by sending bad requests.
/// </summary>
internal sealed class RefusalAccounting
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    /// <summary>The <c>HttpContext.Items</c> entry the router's JSON error writer leaves its message in.</summary>
    public const string ReasonItem = "causalkv.refusal";

    private readonly Counter<long> _refused;
    private readonly ILogger<RefusalAccounting> _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(int Status, string Endpoint), Tally> _tallies = new();

    public RefusalAccounting(IMeterFactory meters, ILogger<RefusalAccounting> log, TimeProvider time)
    {
        _refused = meters.Create(RouterTelemetry.Name).CreateCounter<long>("causalkv.requests.refused", "{request}",
            "Requests refused with a 4xx, by status and endpoint.");
        _log = log;
        _time = time;
    }

    public void Count(int status, string endpoint, string? reason)
    {
        _refused.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("endpoint", endpoint));
        var tally = _tallies.GetOrAdd((status, endpoint), _ => new Tally());
        var now = _time.GetTimestamp();
        long suppressed;
        lock (tally)
        {
            if (tally.LastLogged != 0 && _time.GetElapsedTime(tally.LastLogged, now) < LogInterval)
            {
                tally.Suppressed++;
                return;
            }
            suppressed = tally.Suppressed;
            tally.Suppressed = 0;
            tally.LastLogged = now;
        }
        RouterLog.RequestRefused(_log, status, endpoint, reason ?? "(no message)", suppressed, (int)LogInterval.TotalSeconds);
    }

    private sealed class Tally
    {
        public long LastLogged;
        public long Suppressed;
    }
}

/// <summary>Hands every 4xx the router answered itself to <see cref="RefusalAccounting"/>, named by its endpoint's route pattern.</summary>
internal sealed class RefusalMiddleware(RequestDelegate next, RefusalAccounting refusals)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var status = context.Response.StatusCode;
        if (status is < 400 or >= 500 || context.Items[RefusalAccounting.ReasonItem] is not string reason) return;
        var endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)";
        refusals.Count(status, $"{context.Request.Method} {endpoint}", reason);
    }
}
