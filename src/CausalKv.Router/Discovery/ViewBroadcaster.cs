using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using CausalKv.Protocol;
using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Discovery;

/// <summary>
/// Installs a view cluster-wide, all or nothing as far as reachability goes, in two phases: decides its epoch and
/// targets (<see cref="ViewChangePlan"/>: every node of the old and the new view), refuses a stale epoch (409), asks
/// every target to promise the view with <c>POST /view/prepare</c> in parallel under a short deadline, and sends
/// nothing when one did not: 409 when a node installed or promised another layout under that epoch, or installed a
/// higher one (<see cref="ViewPromiseDecision"/>; the highest epoch it installed or promised is taken as known, so the
/// next decision goes above it), 503 when one
/// does not answer. Only once every target promised does it send <c>PUT /view</c> to all of them at once and wait for
/// all. Several routers may do this at once: the targets of two views of one cluster share a node, which promises one
/// layout per epoch, so no two layouts are ever installed under one epoch.
/// A node answers only once its handoff is acknowledged, so when every node said 200 the data is in place. A node
/// that fails after the probe (a timeout during its handoff) leaves the view installed on the others; resending the
/// same body is a retry (<see cref="ViewEpochVerdict.Retry"/>) that sends the same view to the same nodes again.
/// One change at a time.
/// </summary>
internal sealed class ViewBroadcaster(
    ViewTracker views, ViewPoller poller, NodeTransport transport, IOptions<RouterOptions> options, ILogger<ViewBroadcaster> log)
{
    public const string ClusterKeyHeader = ProtocolHeaders.ClusterKey;
    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly string? _clusterKey = string.IsNullOrEmpty(options.Value.ClusterKey) ? null : options.Value.ClusterKey;
    private readonly TimeSpan _timeout = options.Value.ViewChangeTimeout;
    private readonly TimeSpan _probeTimeout = options.Value.ViewProbeTimeout;
    private ViewChangePlan? _last;

    /// <param name="layout">The validated layout (its epoch is ignored).</param>
    /// <param name="requestedEpoch">The client's epoch, or null (<see cref="ViewEpochDecision"/> says what it means).</param>
    public async Task<ViewBroadcast> BroadcastAsync(ShardView layout, long? requestedEpoch, CancellationToken ct)
    {
        await _serial.WaitAsync(ct);
        try
        {
            // Learn the highest epoch now, not as of the last poll: the epoch is decided against it.
            await poller.PollOnceAsync(ct);
            var current = Math.Max(views.HighestEpoch, views.Current.Epoch);
            var plan = ViewChangePlan.Create(views.Current.View, views.HighestEpoch, _last, layout, requestedEpoch, out var conflict);
            if (plan is null)
            {
                RouterLog.ViewRefused(log, StatusCodes.Status409Conflict, conflict!);
                return new ViewBroadcast(current, []) { RefusedWith = StatusCodes.Status409Conflict, Error = conflict };
            }
            var result = await ProbeAndSendAsync(plan.View, plan.Targets, plan.Retry, current, ct);
            if (result.RefusedWith is null) _last = plan;
            return result;
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>
    /// Installs a view whose epoch and targets were decided elsewhere (the reconciler's <see cref="ReconcileDecision"/>):
    /// asks every target to promise it, then sends it with its epoch to all of them, one change at a time with <c>PUT /view</c>.
    /// A node holding or promising another layout under that epoch, or holding a newer one, refuses it (409) before any node got
    /// it, which the result reports.
    /// </summary>
    public async Task<ViewBroadcast> InstallAsync(ShardView view, IReadOnlyList<ViewNode> targets, CancellationToken ct)
    {
        await _serial.WaitAsync(ct);
        try
        {
            return await ProbeAndSendAsync(view, targets, retry: false, Math.Max(views.HighestEpoch, views.Current.Epoch), ct);
        }
        finally
        {
            _serial.Release();
        }
    }

    private async Task<ViewBroadcast> ProbeAndSendAsync(ShardView view, IReadOnlyList<ViewNode> targets, bool retry, long current, CancellationToken ct)
    {
        using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.ViewBroadcast);
        activity?.SetTag(RouterTelemetry.Tags.Epoch, view.Epoch);

        var body = Body(view);
        var promises = await Task.WhenAll(targets.Select(node => PrepareAsync(node, body, ct)));
        var refused = promises.Where(p => p.Status == StatusCodes.Status409Conflict).ToList();
        if (refused.Count > 0)
        {
            // Another layout holds this epoch or a later one at some node: any other node that installed this view now
            // would leave two layouts in force under one epoch. The epochs the nodes hold are known from here on.
            var holds = refused.Max(p => p.Holds);
            views.Observe(holds, null);
            var error = $"Epoch {view.Epoch} was not promised by every node, so no node got it: " +
                string.Join("; ", refused.Select(p => $"node {p.Node.Id} at {p.Node.Address} holds epoch {p.Holds}: {p.Reason}")) +
                $". Send an epoch above {holds}.";
            activity?.SetStatus(ActivityStatusCode.Error, "a node promised another view");
            RouterLog.ViewRefused(log, StatusCodes.Status409Conflict, error);
            var conflicts = refused.Select(p => new NodeReply(p.Node.Id, p.Node.Address, p.Status, ErrorElement(p.Reason!))).ToList();
            return new ViewBroadcast(Math.Max(current, holds), conflicts) { RefusedWith = StatusCodes.Status409Conflict, Error = error };
        }
        var unreachable = promises.Where(p => p.Status != StatusCodes.Status200OK).Select(p => (p.Node, Reason: p.Reason!)).ToList();
        if (unreachable.Count > 0)
        {
            // 503, not 409 or 422: nothing is wrong with the request or in conflict with the view in force; the
            // cluster cannot carry it out now, and the same request succeeds once the nodes answer again.
            var error = ViewChangePlan.UnreachableError(unreachable, current);
            activity?.SetStatus(ActivityStatusCode.Error, "a node of the view cannot be reached");
            RouterLog.ViewRefused(log, StatusCodes.Status503ServiceUnavailable, error);
            var replies = unreachable.Select(u => new NodeReply(u.Node.Id, u.Node.Address, StatusCodes.Status503ServiceUnavailable, ErrorElement(u.Reason))).ToList();
            return new ViewBroadcast(current, replies) { RefusedWith = StatusCodes.Status503ServiceUnavailable, Error = error };
        }

        RouterLog.ViewBroadcast(log, view.Epoch, targets.Count, view.ToString());
        // The router routes by the view as soon as one node answers that it installed it, not once the last answered:
        // a node's answer waits for its handoff, and the nodes that hold the view already serve by it.
        var answers = await Task.WhenAll(targets.Select(async node =>
        {
            var reply = await SendAsync(node, body, ct);
            if (Installed(reply, view.Epoch)) views.Observe(view.Epoch, view);
            return reply;
        }));
        var result = new ViewBroadcast(view.Epoch, answers) { Retry = retry };
        if (!result.AllSucceeded)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "not every node installed the view");
            RouterLog.ViewNotInstalledEverywhere(log, view.Epoch,
                string.Join("; ", answers.Where(r => r.Status != StatusCodes.Status200OK).Select(r => $"node {r.Id}: {r.Status} {r.Body}")));
        }
        return result;
    }

    /// <summary>A target's answer to <c>POST /view/prepare</c>: 200 promised, 409 refused (holding epoch <paramref name="Holds"/>), any other status unreachable.</summary>
    private readonly record struct Promise(ViewNode Node, int Status, long Holds, string? Reason);

    /// <summary>
    /// <c>POST /view/prepare</c> within the probe deadline (a cut link drops packets, so connecting gives up at the
    /// transport's connect timeout): the node promises the view, or says which epoch it holds instead.
    /// </summary>
    private async Task<Promise> PrepareAsync(ViewNode node, byte[] body, CancellationToken ct)
    {
        using var message = ViewRequest(HttpMethod.Post, node, "/view/prepare", body);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_probeTimeout);
        try
        {
            using var response = await transport.Client.SendAsync(message, HttpCompletionOption.ResponseContentRead, timeout.Token);
            var status = (int)response.StatusCode;
            if (status == StatusCodes.Status200OK) return new Promise(node, status, 0, null);
            var answer = ParseOrWrap(await response.Content.ReadAsByteArrayAsync(timeout.Token));
            var reason = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String
                ? e.GetString()! : $"POST /view/prepare answered {status}";
            if (status != StatusCodes.Status409Conflict) return new Promise(node, status, 0, $"POST /view/prepare answered {status}: {reason}");
            var holds = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("promised", out var p) && p.TryGetInt64(out var h) ? h : 0;
            return new Promise(node, status, holds, reason);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            var reason = e is OperationCanceledException && !ConnectFailure.IsConnectPhase(e)
                ? $"no answer to POST /view/prepare within {_probeTimeout.TotalMilliseconds:0} ms"
                : ConnectFailure.IsConnectPhase(e) && e is OperationCanceledException
                    ? "could not connect: the connection attempt timed out"
                    : $"could not connect: {e.Message}";
            return new Promise(node, StatusCodes.Status503ServiceUnavailable, 0, reason);
        }
    }

    /// <summary>A view sent to a node (<c>POST /view/prepare</c> or <c>PUT /view</c>), with the cluster key when one is set.</summary>
    private HttpRequestMessage ViewRequest(HttpMethod method, ViewNode node, string path, byte[] body)
    {
        var message = new HttpRequestMessage(method, "http://" + node.Address + path)
        {
            Version = System.Net.HttpVersion.Version11,
            Content = new ByteArrayContent(body),
        };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (_clusterKey is not null) message.Headers.TryAddWithoutValidation(ClusterKeyHeader, _clusterKey);
        return message;
    }

    private async Task<NodeReply> SendAsync(ViewNode node, byte[] body, CancellationToken ct)
    {
        using var message = ViewRequest(HttpMethod.Put, node, "/view", body);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_timeout);
        try
        {
            using var response = await transport.Client.SendAsync(message, timeout.Token);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            return new NodeReply(node.Id, node.Address, (int)response.StatusCode, ParseOrWrap(bytes));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            var (status, error) = ConnectFailure.IsConnectPhase(e)
                ? (StatusCodes.Status502BadGateway, $"could not connect to node {node.Id} at {node.Address}: {e.Message}")
                : e is OperationCanceledException
                    ? (StatusCodes.Status504GatewayTimeout, $"node {node.Id} at {node.Address} did not answer within {_timeout.TotalSeconds:0} s")
                    : (StatusCodes.Status502BadGateway, $"node {node.Id} at {node.Address} failed: {e.Message}");
            return new NodeReply(node.Id, node.Address, status, ErrorElement(error));
        }
    }

    /// <summary>True when the node reports the epoch as its own (it answers 503 when its handoff failed, having installed the view all the same).</summary>
    private static bool Installed(NodeReply reply, long epoch) =>
        reply.Body.ValueKind == JsonValueKind.Object
        && reply.Body.TryGetProperty("epoch", out var e) && e.TryGetInt64(out var installed) && installed == epoch;

    private static byte[] Body(ShardView view) => Json(w =>
    {
        w.WriteStartObject();
        w.WritePropertyName("view");
        ViewJson.Write(w, view);
        w.WriteNumber("epoch", view.Epoch);
        w.WriteEndObject();
    });

    private static JsonElement ParseOrWrap(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return ErrorElement("the node answered with a body that is not JSON: " + System.Text.Encoding.UTF8.GetString(bytes.AsSpan(0, Math.Min(bytes.Length, 200))));
        }
    }

    private static JsonElement ErrorElement(string error)
    {
        using var document = JsonDocument.Parse(Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("error", error);
            w.WriteEndObject();
        }));
        return document.RootElement.Clone();
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return buffer.WrittenSpan.ToArray();
    }
}
