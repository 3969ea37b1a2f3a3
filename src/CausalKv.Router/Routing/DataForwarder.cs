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
/// again); so is a replica that failed a GET before answering (cut off, or gone: reads are safe to repeat). Any other
/// failure once connected is the client's answer, since the replica may have applied the request.
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
    public async Task<RouteOutcome> ForwardAsync(HttpContext context, string key, BufferedRequestBody? body)
    {
        using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.Route);
        var request = new KeyRequest(this, context, key, body);
        var result = await failover.RunAsync(request, context.RequestAborted);
        var outcome = request.Outcome;
        if (result.Status is FailoverStatus.NoView or FailoverStatus.Unreachable)
        {
            outcome = RouteOutcome.Fail(StatusCodes.Status503ServiceUnavailable, result.Error!);
        }
        var verdict = Verdict(result.Status, outcome);
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

    private static string Verdict(FailoverStatus status, RouteOutcome outcome) => status switch
    {
        FailoverStatus.Answered => outcome.Error is null ? "answered" : "failed",
        FailoverStatus.NoView => "noview",
        FailoverStatus.Unreachable => "unreachable",
        _ => "cancelled",
    };

    /// <summary>One attempt at one replica; given up on when the request may go to the shard's next replica.</summary>
    private async ValueTask<ReplicaAttempt> SendAsync(KeyRequest request, Replica replica, string shard)
    {
        var context = request.Context;
        if (request.Body is { } body) body.Position = 0;
        // A failed attempt leaves a 502/504 status behind, and YARP refuses to forward once a status is set.
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Features.Set<IForwarderErrorFeature>(null);
        var error = await forwarder.SendAsync(context, replica.BaseUrl, transport.Invoker, _config, NodeRequestTransformer.Instance, replica.CutToken);
        if (error == ForwarderError.None)
        {
            if (!NodeRequestTransformer.TakeNotServing(context)) return ReplicaAttempt.Taken;
            failover.ReportFailure(replica, ReplicaAttempt.NotServing.GaveUpBecause!);
            return ReplicaAttempt.NotServing;
        }
        var exception = context.GetForwarderErrorFeature()?.Exception;
        if (!context.Response.HasStarted && ForwarderConnectFailure.IsConnectPhase(error, exception))
            return ReplicaAttempt.GiveUp($"could not connect ({exception?.Message})");
        var clientLeft = context.RequestAborted.IsCancellationRequested;
        var cut = error == ForwarderError.RequestCanceled && !clientLeft;
        // A read that failed before anything reached the client (its replica was cut off, or went away with the
        // request in flight) is safe to repeat at the shard's next replica.
        if (HttpMethods.IsGet(context.Request.Method) && !context.Response.HasStarted && !clientLeft
            && (cut || error == ForwarderError.Request))
        {
            if (cut) return ReplicaAttempt.CutOffDuringRead;
            var why = $"a forwarded read failed ({exception?.Message})";
            failover.ReportFailure(replica, why);
            return ReplicaAttempt.GiveUp(why);
        }
        request.Outcome = cut
            ? RouteOutcome.Fail(StatusCodes.Status502BadGateway,
                $"{replica} of shard '{shard}' was cut off while handling the request; it may or may not have applied it.")
            : FailureAfterConnecting(error, exception, replica, shard);
        return ReplicaAttempt.Taken;
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

    /// <summary>The state of one client request: one allocation, where closures would take three.</summary>
    private sealed class KeyRequest(DataForwarder owner, HttpContext context, string key, BufferedRequestBody? body) : IShardRequest
    {
        public HttpContext Context { get; } = context;

        public BufferedRequestBody? Body { get; } = body;

        /// <summary>What is left to tell the client once a replica was reached.</summary>
        public RouteOutcome Outcome { get; set; } = RouteOutcome.Answered;

        public string ShardOf(ClusterMap map) => map.ShardFor(key);

        public bool IsRead => HttpMethods.IsGet(Context.Request.Method);

        public ValueTask<ReplicaAttempt> SendAsync(Replica replica, string shard) => owner.SendAsync(this, replica, shard);
    }
}
