using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CausalKv.Tests.Distributed;

namespace CausalKv.Bench;

/// <summary>Small helpers over a running app for the scenarios: bulk loads, counters, convergence checks.</summary>
internal static class Cluster
{
    public static readonly string Value100 = new('v', 100);

    public static async Task LoadAsync(HttpClient node, IEnumerable<string> keys, int concurrency = 32, string? value = null)
    {
        var body = $"{{\"value\":\"{value ?? Value100}\"}}";
        using var gate = new SemaphoreSlim(concurrency);
        var tasks = new List<Task>();
        foreach (var key in keys)
        {
            await gate.WaitAsync();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await node.PutAsync($"/data/{key}", new StringContent(body, Encoding.UTF8, "application/json"));
                    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"PUT {key}: {(int)response.StatusCode}");
                }
                finally { gate.Release(); }
            }));
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>
    /// Starts an app, trying again (up to three times) when the start fails: on a loaded machine the AppHost's
    /// 2 s connect timeout in its alive probe can fire before a fresh node accepts (reported on the AppHost).
    /// </summary>
    public static async Task<KvApp> StartAsync(Func<KvApp.Builder> builder)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await builder().StartAsync();
            }
            catch (Exception e) when (attempt < 3 && e is TaskCanceledException or TimeoutException or InvalidOperationException)
            {
                Console.WriteLine($"Starting the cluster failed ({e.GetType().Name}: {e.Message.Split('\n')[0]}); retrying.");
            }
        }
    }

    public static async Task<string> DigestAsync(HttpClient node) => (await node.GetFromJsonAsync<JsonElement>("/admin/digest")).GetProperty("hash").GetString()!;

    /// <summary>Polls until every node of the list holds the same state; returns how long it took.</summary>
    public static async Task<TimeSpan> WaitEqualAsync(IReadOnlyList<HttpClient> nodes, TimeSpan within, int pollMs = 10)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var digests = await Task.WhenAll(nodes.Select(DigestAsync));
            if (digests.Distinct().Count() == 1) return sw.Elapsed;
            if (sw.Elapsed > within) throw new TimeoutException("replicas did not converge");
            await Task.Delay(pollMs);
        }
    }

    public sealed record PeerCounters(long GossipRounds, long GossipBytes, long ReplicationBytes, long BytesSent);

    public static async Task<PeerCounters> CountersAsync(KvApp app, string node)
    {
        var s = await app.GetStatusAsync(node);
        long rounds = 0, gossip = 0, repl = 0;
        foreach (var p in s.GetProperty("peers").EnumerateArray())
        {
            rounds += p.GetProperty("gossipRounds").GetInt64();
            gossip += p.GetProperty("gossipBytes").GetInt64();
            repl += p.GetProperty("replicationBytes").GetInt64();
        }
        return new PeerCounters(rounds, gossip, repl, s.GetProperty("peerBytesSent").GetInt64());
    }

    public static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }

    public static int MetadataBytes(JsonNode? metadata) => metadata is null ? 2 : Encoding.UTF8.GetByteCount(metadata.ToJsonString());
}
