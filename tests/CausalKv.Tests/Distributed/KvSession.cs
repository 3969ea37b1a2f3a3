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
