using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CausalKv.Tests.Distributed;

/// <summary>A client session: passes back the causal-metadata each answer gave it, like the clients of api.md.</summary>
public sealed class KvSession
{
    public JsonNode? Metadata { get; set; }

    public sealed record Answer(HttpStatusCode Status, JsonObject Body)
    {
        public string? Value => Body["value"]?.GetValue<string>();
        public string? Error => Body["error"]?.GetValue<string>();
        public JsonNode? Metadata => Body["causal-metadata"];
    }

    public Task<Answer> PutAsync(HttpClient node, string key, string value, CancellationToken ct = default) =>
        SendAsync(node, HttpMethod.Put, $"/data/{Uri.EscapeDataString(key)}", new JsonObject { ["value"] = value }, ct);

    public Task<Answer> GetAsync(HttpClient node, string key, CancellationToken ct = default) =>
        SendAsync(node, HttpMethod.Get, $"/data/{Uri.EscapeDataString(key)}", new JsonObject(), ct);

    public Task<Answer> DeleteAsync(HttpClient node, string key, CancellationToken ct = default) =>
        SendAsync(node, HttpMethod.Delete, $"/data/{Uri.EscapeDataString(key)}", new JsonObject(), ct);

    public Task<Answer> GetAllAsync(HttpClient node, CancellationToken ct = default) =>
        SendAsync(node, HttpMethod.Get, "/data", new JsonObject(), ct);

    /// <summary>A page of <c>GET /data</c>: <paramref name="query"/> is the query string without its '?'.</summary>
    public Task<Answer> GetPageAsync(HttpClient node, string query, CancellationToken ct = default) =>
        SendAsync(node, HttpMethod.Get, "/data?" + query, new JsonObject(), ct);

    /// <summary>
    /// Every page of a listing with <paramref name="prefix"/>, <paramref name="limit"/> keys at a time, the session's
    /// metadata carried page to page; the keys in the order given, and how many pages it took.
    /// </summary>
    public async Task<(List<KeyValuePair<string, string>> Items, int Pages)> ListAsync(HttpClient node, string prefix, int limit, CancellationToken ct = default)
    {
        var items = new List<KeyValuePair<string, string>>();
        string? cursor = null;
        for (var pages = 1; ; pages++)
        {
            var query = $"limit={limit}&prefix={Uri.EscapeDataString(prefix)}" + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = await GetPageAsync(node, query, ct);
            if (page.Status != HttpStatusCode.OK) throw new InvalidOperationException($"GET /data?{query}: {(int)page.Status} {page.Error}");
            var got = page.Body["items"]!.AsObject().Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value!.GetValue<string>())).ToList();
            if (got.Count > limit) throw new InvalidOperationException($"A page of limit {limit} held {got.Count} keys.");
            items.AddRange(got);
            if (!page.Body.ContainsKey("next-cursor")) throw new InvalidOperationException("A page without next-cursor.");
            cursor = page.Body["next-cursor"]?.GetValue<string>();
            if (cursor is null) return (items, pages);
        }
    }

    private async Task<Answer> SendAsync(HttpClient node, HttpMethod method, string path, JsonObject body, CancellationToken ct)
    {
        body["causal-metadata"] = Metadata?.DeepClone();
        using var request = new HttpRequestMessage(method, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await node.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        var json = JsonNode.Parse(text)?.AsObject() ?? throw new InvalidOperationException($"Not a JSON object: {text}");
        if (json["causal-metadata"] is { } m) Metadata = m.DeepClone();
        return new Answer(response.StatusCode, json);
    }

    /// <summary>Number of keys the metadata carries dependencies for.</summary>
    public int DependencyCount => Metadata?["d"]?.AsObject().Count ?? 0;
}
