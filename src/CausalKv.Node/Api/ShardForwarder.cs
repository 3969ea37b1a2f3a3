using System.Diagnostics;
using CausalKv.Http;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Node.Telemetry;
using CausalKv.Protocol;
using CausalKv.Sharding;

namespace CausalKv.Node.Api;

/// <summary>
/// Sends a request for another shard's key over HTTP to a reachable replica of that shard, chosen by the
/// <see cref="ReplicaRotation"/>, and relays its answer. A replica that does not connect in time is skipped for the
/// next; when none answers the request waits and tries again (the shard is cut off, not gone) until the client leaves
/// or the deadline passes.
/// The key is sent as it was decoded (<see cref="KeyPath"/>), so it reaches the owner byte for byte. How many times a
/// request was forwarded (<see cref="HopHeader"/>) counts only from a node (a request with the cluster key): a
/// client's own header is ignored, so it can neither lengthen nor shorten a forwarding loop.
/// A forwarded request carries the epoch of the view its target was chosen by (<see cref="EpochOf"/>): a node on an
/// older view waits for that view before it answers, and a node on a newer one forwards by its own view if the key
/// moved, so nodes holding different views never answer by stale ownership.
/// </summary>
public sealed class ShardForwarder(PeerClient client, NodeIdentity identity, ReplicaRotation rotation, ILogger<ShardForwarder> log)
{
    public const string HopHeader = ProtocolHeaders.Hops;
    public const int MaxHops = ReplicaRotation.MaxHops;

    public async Task ForwardAsync(HttpContext context, Membership membership, string shard, byte[] body)
    {
        var hops = HopsOf(context.Request.Headers[HopHeader].ToString(), identity.IsAuthorized(context.Request));
        if (ReplicaRotation.LoopDetected(hops, shard) is { } loop)
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status508LoopDetected, loop);
            return;
        }
        var ct = context.RequestAborted;
        using var activity = NodeTelemetry.Source.StartActivity(NodeTelemetry.Spans.Forward, ActivityKind.Client);
        activity?.SetTag("causalkv.target_shard", shard);
        var (answer, target, attempts) = await rotation.SendAsync(membership.View!.NodesOf(shard), async node =>
        {
            try
            {
                var response = await SendAsync(context, membership, node, body, hops + 1, ct);
                if (!response.Headers.Contains(DataEndpoints.NotServingHeader)) return response;
                response.Dispose();
                NodeLog.ForwardAttemptFailed(log, node.Id, shard, "it serves no data yet");
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or TaskCanceledException or TimeoutException)
            {
                NodeLog.ForwardAttemptFailed(log, node.Id, shard, e.Message);
            }
            return null;
        }, ct);
        if (ct.IsCancellationRequested)
        {
            answer?.Dispose();
            return;
        }
        if (answer is null)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "no reachable replica");
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status503ServiceUnavailable,
                $"Shard '{shard}' has no reachable replica (tried {attempts} times over {rotation.Deadline.TotalSeconds:0} s); retry later.");
            return;
        }
        using var response = answer;
        activity?.SetTag("causalkv.target_node", target!.Id);
        activity?.SetTag("causalkv.attempts", attempts);
        context.Response.StatusCode = (int)response.StatusCode;
        context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
        if (response.Headers.TryGetValues(ProtocolHeaders.CausalWait, out var waited))
            context.Response.Headers[ProtocolHeaders.CausalWait] = waited.FirstOrDefault();
        await response.Content.CopyToAsync(context.Response.Body, ct);
    }

    /// <summary>
    /// The hops a request already made: its header, clamped to [0, <see cref="MaxHops"/>], when a node sent it; 0 from
    /// anyone else (a client's negative count would otherwise let a request loop between disagreeing nodes for ever).
    /// </summary>
    public static int HopsOf(string? header, bool fromNode) =>
        fromNode && int.TryParse(header, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var hops)
            ? Math.Clamp(hops, 0, MaxHops)
            : 0;

    /// <summary>
    /// The view epoch a node forwarded a request under (<see cref="ProtocolHeaders.Epoch"/>), when a node sent it; null
    /// from anyone else (a client's header must not make a node wait for a view that does not exist).
    /// </summary>
    public static long? EpochOf(string? header, bool fromNode) =>
        fromNode && long.TryParse(header, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch)
            ? epoch
            : null;

    private async Task<HttpResponseMessage> SendAsync(HttpContext context, Membership membership, ViewNode target, byte[] body, int hops, CancellationToken ct)
    {
        var req = context.Request;
        // The decoded key, escaped once; Request.Path is only its routing form.
        var path = DataKeys.Of(context) is { } key ? KeyPath.PathOf(key) : req.Path.ToUriComponent();
        using var message = client.CreateRequest(new HttpMethod(req.Method), target, path + req.QueryString.ToUriComponent());
        message.Headers.Add(HopHeader, hops.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // The view the target was chosen by: a target on an older view waits for it (its older view may send the key
        // back to a shard that handed it off already, or answer for a key it no longer holds).
        message.Headers.Add(ProtocolHeaders.Epoch, membership.EpochText);
        if (req.Headers.TryGetValue(ProtocolHeaders.CausalMetadata, out var meta)) message.Headers.TryAddWithoutValidation(ProtocolHeaders.CausalMetadata, meta.ToArray());
        if (body.Length > 0)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.TryAddWithoutValidation("Content-Type", req.ContentType ?? "application/json");
        }
        return await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct);
    }
}
