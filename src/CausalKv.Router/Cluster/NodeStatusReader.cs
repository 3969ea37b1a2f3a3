using System.Text.Json;
using CausalKv.Protocol;
using CausalKv.Router.Routing;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace CausalKv.Router.Cluster;

/// <summary>
/// Asks every node of a view for <c>GET /admin/status</c> at once, each within the health probe timeout, so a node
/// that is cut off or gone shows as unreachable instead of holding up the page. Requests that arrive while a round
/// for the same view is under way share it: however many pages are open, the nodes see at most one round at a time.
/// A round is not tied to any one page's request, so a page that goes away does not fail the others sharing it.
/// Reads make no spans, like the router's other polls.
/// </summary>
internal sealed class NodeStatusReader(NodeTransport transport, IOptions<RouterOptions> options)
{
    public const string StatusPath = "/admin/status";

    private readonly TimeSpan _timeout = options.Value.HealthProbeTimeout;
    private readonly Lock _gate = new();
    private ClusterMap? _roundMap;
    private Task<NodeObservation[]>? _round;

    /// <summary>Observations of every replica of <paramref name="map"/>, in the map's order.</summary>
    public Task<NodeObservation[]> ObserveAsync(ClusterMap map)
    {
        lock (_gate)
        {
            if (_round is { IsCompleted: false } running && ReferenceEquals(_roundMap, map)) return running;
            _roundMap = map;
            return _round = ObserveAllAsync(map.AllReplicas);
        }
    }

    private async Task<NodeObservation[]> ObserveAllAsync(IReadOnlyList<Replica> replicas)
    {
        await Task.Yield(); // leave the caller's lock before the first request goes out
        using var quiet = SuppressInstrumentationScope.Begin();
        return await Task.WhenAll(replicas.Select(ObserveAsync));
    }

    private async Task<NodeObservation> ObserveAsync(Replica replica)
    {
        NodeStatusReport? status = null;
        string? error;
        using var timeout = new CancellationTokenSource(_timeout);
        try
        {
            using var response = await transport.Client.GetAsync(replica.BaseUrl + StatusPath, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
                status = await JsonSerializer.DeserializeAsync(body, NodeStatusJsonContext.Default.NodeStatusReport, timeout.Token);
            }
            error = status is null ? $"GET {StatusPath} answered {(int)response.StatusCode} without a status" : null;
        }
        catch (OperationCanceledException)
        {
            error = $"no status within {_timeout.TotalMilliseconds:0} ms";
        }
        catch (HttpRequestException e)
        {
            error = e.Message;
        }
        catch (JsonException)
        {
            error = $"GET {StatusPath} answered with something that is not a status";
        }
        var health = replica.Health;
        return new NodeObservation(replica.Node, health.ProbeHealthy, health.IsAvailable(Environment.TickCount64), status, error);
    }
}
