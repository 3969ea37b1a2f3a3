using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CausalKv.Node.Telemetry;

/// <summary>
/// Counts every request the node refuses (a 4xx) in <c>causalkv.requests.refused</c>, by status and endpoint, and logs
/// each kind of refusal at most once a minute with how many there were since, so that no client can flood the log by
/// sending bad requests. Handlers need do nothing: <see cref="RefusalMiddleware"/> looks at the status of every answer,
/// and the JSON error writer leaves its message for the log line.
/// </summary>
public sealed class RefusalAccounting
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);
    public const string ReasonItem = "causalkv.refusal";

    private readonly Counter<long> _refused;
    private readonly ILogger<RefusalAccounting> _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(int Status, string Endpoint), Tally> _tallies = new();

    public RefusalAccounting(IMeterFactory meters, ILogger<RefusalAccounting> log, TimeProvider time)
    {
        _refused = meters.Create(NodeTelemetry.Name).CreateCounter<long>("causalkv.requests.refused", "{request}",
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
        NodeLog.RequestRefused(_log, status, endpoint, reason ?? "(no message)", suppressed, (int)LogInterval.TotalSeconds);
    }

    private sealed class Tally
    {
        public long LastLogged;
        public long Suppressed;
    }
}

/// <summary>Hands every 4xx answer to <see cref="RefusalAccounting"/>, named by its endpoint's route pattern.</summary>
public sealed class RefusalMiddleware(RequestDelegate next, RefusalAccounting refusals)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var status = context.Response.StatusCode;
        if (status is < 400 or >= 500) return;
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        // A 404 from a data endpoint is an answer ("no such key"), not a refusal.
        if (status == StatusCodes.Status404NotFound && route is not null) return;
        var endpoint = route ?? "(no endpoint)";
        refusals.Count(status, $"{context.Request.Method} {endpoint}", context.Items[RefusalAccounting.ReasonItem] as string);
    }
}
