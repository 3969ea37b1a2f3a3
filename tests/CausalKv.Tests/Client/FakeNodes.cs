using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Sharding;

namespace CausalKv.Tests.Client;

/// <summary>
/// Nodes in memory, behind an HttpMessageHandler: each answers <c>GET /view</c> with the current view and data requests
/// with what <see cref="Answer"/> says. Addresses in <see cref="Down"/> fail to connect, as a dead node does.
/// Every request is recorded, with its body.
/// </summary>
internal sealed class FakeNodes : HttpMessageHandler
{
    public sealed record Sent(string Address, HttpMethod Method, string Path, string? Body);

    public ShardView View { get; set; } = null!;

    public ConcurrentQueue<Sent> Requests { get; } = new();

    public ConcurrentDictionary<string, bool> Down { get; } = new();

    /// <summary>Answers a data request at a node: (address, request) to (status, JSON body, not-serving).</summary>
    public Func<Sent, (HttpStatusCode Status, string Body, bool NotServing)> Answer { get; set; } =
        _ => (HttpStatusCode.OK, "{\"causal-metadata\": {}}", false);

    /// <summary>How long a node says it held a data request in a causal wait (<c>X-CausalKv-Waited-Ms</c>); null: it answered at once.</summary>
    public Func<Sent, double?> Waited { get; set; } = _ => null;

    /// <summary>Data answers say the epoch of <see cref="View"/> (<c>X-CausalKv-Epoch</c>), as nodes do.</summary>
    public bool SendsEpoch { get; set; }

    public IEnumerable<Sent> DataRequests => Requests.Where(r => r.Path.StartsWith("/data", StringComparison.Ordinal));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var address = request.RequestUri!.Authority;
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var sent = new Sent(address, request.Method, Uri.UnescapeDataString(request.RequestUri.AbsolutePath), body);
        Requests.Enqueue(sent);
        if (Down.ContainsKey(address)) throw new HttpRequestException(HttpRequestError.ConnectionError, $"Connection refused ({address})");
        if (sent.Path == "/view")
        {
            var json = new JsonObject { ["epoch"] = View.Epoch };
            var layout = new JsonObject();
            foreach (var shard in View.ShardNames)
                layout[shard] = new JsonArray([.. View.NodesOf(shard).Select(n => (JsonNode)new JsonObject { ["address"] = n.Address, ["id"] = n.Id })]);
            json["view"] = layout;
            return Json(HttpStatusCode.OK, json.ToJsonString());
        }
        var (status, answer, notServing) = Answer(sent);
        var response = Json(status, answer);
        if (notServing) response.Headers.Add("X-CausalKv-Not-Serving", "not-in-view");
        if (SendsEpoch) response.Headers.Add("X-CausalKv-Epoch", View.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Waited(sent) is { } ms) response.Headers.Add("X-CausalKv-Waited-Ms", ms.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return response;
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    /// <summary>A view of shards "s0", "s1", ... with two replicas each at 127.0.9.{id}:9000 (never contacted: in memory).</summary>
    public static ShardView TwoReplicaShards(int shards, long epoch = 1, int firstId = 0) =>
        ShardView.Create(epoch, Enumerable.Range(0, shards).ToDictionary(
            s => $"s{s}",
            s => (IReadOnlyList<ViewNode>)[new ViewNode($"127.0.9.{firstId + 2 * s}:9000", firstId + 2 * s), new ViewNode($"127.0.9.{firstId + 2 * s + 1}:9000", firstId + 2 * s + 1)]));
}
