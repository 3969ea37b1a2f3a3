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
/// Installs a view cluster-wide: sends it, with an epoch above every epoch any node reported, to every node of the
/// old and the new view at once (nodes leaving the view must hand their keys off), and waits for all of them.
/// A node answers only once its handoff is acknowledged, so when every node said 200 the data is in place.
/// One broadcast at a time.
/// </summary>
internal sealed class ViewBroadcaster(
    ViewTracker views, ViewPoller poller, NodeTransport transport, IOptions<RouterOptions> options, ILogger<ViewBroadcaster> log)
{
    public const string ClusterKeyHeader = ProtocolHeaders.ClusterKey;
    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly string? _clusterKey = string.IsNullOrEmpty(options.Value.ClusterKey) ? null : options.Value.ClusterKey;
    private readonly TimeSpan _timeout = options.Value.ViewChangeTimeout;

    /// <param name="layout">The validated layout (its epoch is ignored).</param>
    /// <param name="requestedEpoch">The client's epoch, used when it is above every known epoch.</param>
    public async Task<ViewBroadcast> BroadcastAsync(ShardView layout, long? requestedEpoch, CancellationToken ct)
    {
        await _serial.WaitAsync(ct);
        try
        {
            // Learn the highest epoch now, not as of the last poll: a lower epoch would be refused by the nodes.
            await poller.PollOnceAsync(ct);
            var old = views.Current.View;
            var view = layout.WithEpoch(Math.Max(views.HighestEpoch + 1, requestedEpoch ?? 0));
            var targets = view.AllNodes.Concat(old?.AllNodes ?? []).Distinct().ToList();
            using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.ViewBroadcast);
            activity?.SetTag(RouterTelemetry.Tags.Epoch, view.Epoch);
            RouterLog.ViewBroadcast(log, view.Epoch, targets.Count, view.ToString());

            var body = Body(view);
            var replies = await Task.WhenAll(targets.Select(node => SendAsync(node, body, ct)));
            // Any node that installed it routes by it now; the poller would find it within an interval anyway.
            if (replies.Any(r => Installed(r, view.Epoch))) views.Observe(view.Epoch, view);
            var result = new ViewBroadcast(view.Epoch, replies);
            if (!result.AllSucceeded)
            {
                activity?.SetStatus(ActivityStatusCode.Error, "not every node installed the view");
                RouterLog.ViewNotInstalledEverywhere(log, view.Epoch,
                    string.Join("; ", replies.Where(r => r.Status != StatusCodes.Status200OK).Select(r => $"node {r.Id}: {r.Status} {r.Body}")));
            }
            return result;
        }
        finally
        {
            _serial.Release();
        }
    }

    private async Task<NodeReply> SendAsync(ViewNode node, byte[] body, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Put, "http://" + node.Address + "/view")
        {
            Version = System.Net.HttpVersion.Version11,
            Content = new ByteArrayContent(body),
        };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (_clusterKey is not null) message.Headers.TryAddWithoutValidation(ClusterKeyHeader, _clusterKey);
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
