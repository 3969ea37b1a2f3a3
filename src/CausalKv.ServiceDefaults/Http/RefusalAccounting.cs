using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace CausalKv.Http;

/// <summary>
/// Counts every request a node or the router refuses itself (a 4xx it answered with its own JSON error, not one a node
/// answered through the router, which the node counts) in <c>causalkv.requests.refused</c>, by status and endpoint, and
/// logs each kind of refusal at most once a minute with how many there were since, so that no client can flood the log
/// by sending bad requests. Handlers need do nothing: <see cref="RefusalMiddleware"/> looks at the status of every
/// answer, and <see cref="JsonErrors"/> leaves its message for the log line.
/// </summary>
public sealed partial class RefusalAccounting
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    /// <summary>The <c>HttpContext.Items</c> entry <see cref="JsonErrors"/> leaves its message in.</summary>
    public const string ReasonItem = "causalkv.refusal";

    private readonly Counter<long> _refused;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(int Status, string Endpoint), Tally> _tallies = new();

    /// <param name="meterName">the process's own meter (<c>CausalKv.Node</c>, <c>CausalKv.Router</c>)</param>
    public RefusalAccounting(string meterName, IMeterFactory meters, ILogger log, TimeProvider time)
    {
        _refused = meters.Create(meterName).CreateCounter<long>("causalkv.requests.refused", "{request}",
            "Requests refused with a 4xx, by status and endpoint.");
        _log = log;
        _time = time;
    }

    public void Count(int status, string endpoint, string reason)
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
        RequestRefused(_log, status, endpoint, reason, suppressed, (int)LogInterval.TotalSeconds);
    }

    [LoggerMessage(EventId = 600, EventName = "RequestRefused", Level = LogLevel.Warning,
        Message = "Refused {Status} on {Endpoint}: {Reason} ({Suppressed} more refusals of this kind in the {Interval} s before, not logged one by one)")]
    private static partial void RequestRefused(ILogger logger, int status, string endpoint, string reason, long suppressed, int interval);

    private sealed class Tally
    {
        public long LastLogged;
        public long Suppressed;
    }
}

/// <summary>Hands every 4xx answered with this process's own JSON error to <see cref="RefusalAccounting"/>, named by its route pattern.</summary>
public sealed class RefusalMiddleware(RequestDelegate next, RefusalAccounting refusals)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);
        var status = context.Response.StatusCode;
        // An answer without the mark is not a refusal of ours: a 404 "no such key", or a node's answer relayed by the router.
        if (status is < 400 or >= 500 || context.Items[RefusalAccounting.ReasonItem] is not string reason) return;
        var endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no endpoint)";
        refusals.Count(status, $"{context.Request.Method} {endpoint}", reason);
    }
}
