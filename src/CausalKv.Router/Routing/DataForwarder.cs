using System.Diagnostics;
using System.Net;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace CausalKv.Router.Routing;

/// <summary>
/// Sends <c>GET/PUT/DELETE /data/{key}</c> straight to a replica of the key's shard with YARP's forwarder:
/// headers, body, causal metadata and trace context pass through, and the replica's answer streams back unchanged.
/// A replica that cannot be connected to is left for the shard's next one (the body is buffered so it can be sent
/// again); so is a replica found cut off while a GET was in flight to it (reads are safe to repeat). Any other failure
/// once connected is the client's answer, since the replica may have applied the request.
/// </summary>
internal sealed class DataForwarder(
    IHttpForwarder forwarder, NodeTransport transport, ReplicaFailover failover, IOptions<RouterOptions> options, RouterTelemetry telemetry)
{
    private readonly ForwarderRequestConfig _config = new()
    {
        ActivityTimeout = options.Value.ForwardActivityTimeout,
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    /// <param name="body">The buffered request body, rewound before every attempt; null when the request has none.</param>
    public async Task<RouteOutcome> ForwardAsync(HttpContext context, string key, MemoryStream? body)
    {
        using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.Route);
        var outcome = RouteOutcome.Answered;
        var result = await failover.RunAsync(map => map.ShardFor(key), async (replica, shard) =>
        {
            if (body is not null) body.Position = 0;
            // A failed attempt leaves a 502/504 status behind, and YARP refuses to forward once a status is set.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Features.Set<IForwarderErrorFeature>(null);
            var error = await forwarder.SendAsync(context, replica.BaseUrl, transport.Invoker, _config, HttpTransformer.Default, replica.CutToken);
            if (error == ForwarderError.None) return true;
            var exception = context.GetForwarderErrorFeature()?.Exception;
            if (!context.Response.HasStarted && ConnectFailure.IsConnectPhase(error, exception)) return false;
            var cut = error == ForwarderError.RequestCanceled && !context.RequestAborted.IsCancellationRequested;
            if (cut && HttpMethods.IsGet(context.Request.Method) && !context.Response.HasStarted) return false;
            outcome = cut
                ? RouteOutcome.Fail(StatusCodes.Status502BadGateway,
                    $"{replica} of shard '{shard}' was cut off while handling the request; it may or may not have applied it.")
                : FailureAfterConnecting(error, exception, replica, shard);
            return true;
        }, context.RequestAborted);

        if (result.Status is FailoverStatus.NoView or FailoverStatus.Unreachable)
        {
            outcome = RouteOutcome.Fail(StatusCodes.Status503ServiceUnavailable, result.Error!);
        }
        var verdict = result.Status == FailoverStatus.Answered && outcome.Error is not null ? "failed" : result.Status.ToString().ToLowerInvariant();
        telemetry.Requests.Add(1,
            new KeyValuePair<string, object?>(RouterTelemetry.Tags.Shard, result.Shard),
            new KeyValuePair<string, object?>(RouterTelemetry.Tags.Outcome, verdict));
        if (activity is not null)
        {
            activity.SetTag(RouterTelemetry.Tags.Shard, result.Shard);
            activity.SetTag(RouterTelemetry.Tags.Node, result.Replica?.Id);
            activity.SetTag(RouterTelemetry.Tags.Attempts, result.Attempts);
            activity.SetTag(RouterTelemetry.Tags.Outcome, verdict);
            if (outcome.Error is not null) activity.SetStatus(ActivityStatusCode.Error, outcome.Error);
        }
        return outcome;
    }

    private RouteOutcome FailureAfterConnecting(ForwarderError error, Exception? exception, Replica replica, string shard)
    {
        switch (error)
        {
            case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient:
                // The client went away (or broke its own request): there is nobody to answer.
                return RouteOutcome.Answered;
            case ForwarderError.RequestTimedOut:
                failover.ReportFailure(replica, "a forwarded request timed out");
                return RouteOutcome.Fail(StatusCodes.Status504GatewayTimeout,
                    $"{replica} of shard '{shard}' took the request but did not answer within {_config.ActivityTimeout!.Value.TotalSeconds:0} s; it may or may not have applied it.");
            default:
                failover.ReportFailure(replica, $"a forwarded request failed ({error})");
                return RouteOutcome.Fail(StatusCodes.Status502BadGateway,
                    $"{replica} of shard '{shard}' failed while handling the request ({error}: {exception?.Message}); it may or may not have applied it.");
        }
    }
}
