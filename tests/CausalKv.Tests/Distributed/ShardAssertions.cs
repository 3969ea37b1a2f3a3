using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CausalKv.Sharding;

namespace CausalKv.Tests.Distributed;

/// <summary>Checks over a whole cluster: where every key lives, per each node's own <c>GET /data</c>.</summary>
public static class ShardAssertions
{
    public static async Task<Dictionary<string, string>> ItemsAsync(HttpClient node)
    {
        var doc = await node.GetFromJsonAsync<JsonElement>("/data");
        return doc.GetProperty("items").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    /// <summary>
    /// Polls until every node of the installed layout holds exactly the expected
    /// keys of its own shard (by the ring), replicas of a shard agree, and no key
    /// is missing: every key on exactly one shard. Keys in <paramref name="mayExist"/> (writes whose outcome the
    /// client never learned: the node died with the request in flight) may be held too, on their owner only.
    /// </summary>
    public static async Task EveryKeyOnItsOwnerAsync(KvApp app, Func<string, HttpClient> client, IReadOnlyDictionary<string, string> expected, TimeSpan within,
        IReadOnlySet<string>? mayExist = null, string prefix = "")
    {
        var ring = new HashRing(app.Layout.Keys);
        string? problem = null;
        try
        {
            await Eventually.HoldsAsync(async () =>
            {
                problem = null;
                foreach (var (shard, ids) in app.Layout)
                {
                    var want = expected.Where(kv => ring.ShardFor(kv.Key) == shard).ToDictionary();
                    foreach (var id in ids)
                    {
                        var items = await ItemsAsync(client($"node{id}"));
                        var foreign = items.Keys.FirstOrDefault(k => ring.ShardFor(k) != shard);
                        if (foreign is not null) { problem = $"node{id} of {shard} serves {foreign} of {ring.ShardFor(foreign)}"; return false; }
                        var missing = want.Keys.Where(k => !items.TryGetValue(k, out var v) || v != want[k]).Take(3).ToList();
                        if (missing.Count > 0) { problem = $"node{id} of {shard} lacks or has a stale {string.Join(", ", missing)} ({want.Count} expected, {items.Count} held)"; return false; }
                        var extra = items.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !want.ContainsKey(k) && mayExist?.Contains(k) != true).Take(3).ToList();
                        if (extra.Count > 0) { problem = $"node{id} holds unexpected {string.Join(", ", extra)}"; return false; }
                    }
                }
                return true;
            }, within, "every key on its owner shard");
        }
        catch (TimeoutException e)
        {
            // The last poll's finding says what is wrong; the message was fixed before the first poll.
            throw new TimeoutException($"{e.Message}: {problem}", e);
        }
    }

    public static async Task LoadAsync(Func<int, HttpClient> nodeClient, int[] nodes, IReadOnlyDictionary<string, string> keys)
    {
        using var gate = new SemaphoreSlim(16);
        var i = 0;
        await Task.WhenAll(keys.Select(async kv =>
        {
            await gate.WaitAsync();
            try
            {
                var node = nodeClient(nodes[Interlocked.Increment(ref i) % nodes.Length]);
                using var response = await node.PutAsync($"/data/{Uri.EscapeDataString(kv.Key)}",
                    new StringContent(JsonSerializer.Serialize(new { value = kv.Value }), Encoding.UTF8, "application/json"));
                response.EnsureSuccessStatusCode();
            }
            finally { gate.Release(); }
        }));
    }
}
