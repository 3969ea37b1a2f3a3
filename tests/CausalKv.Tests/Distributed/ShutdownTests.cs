using System.Net;
using System.Net.Http.Json;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// A node stopped with SIGTERM (a pod deleted, a service stopped) finishes what it took and leaves its peer nothing
/// it lacks: every write it acknowledged is on the peer once it exited, with the node gone.
/// </summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task A_node_stopped_with_SIGTERM_leaves_its_peer_every_write_it_acknowledged()
    {
        var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await using var cluster = new LocalCluster(key);
        var (p0, p1) = (LocalCluster.FreePort(), LocalCluster.FreePort());
        var node0 = cluster.StartNode(0, p0);
        var node1 = cluster.StartNode(1, p1);
        using var n0 = new HttpClient { BaseAddress = node0.Url, Timeout = TimeSpan.FromSeconds(30) };
        using var n1 = new HttpClient { BaseAddress = node1.Url, Timeout = TimeSpan.FromSeconds(30) };
        var view = new { view = new Dictionary<string, object[]> { ["s"] = [new { address = node0.Address, id = 0 }, new { address = node1.Address, id = 1 }] } };
        foreach (var node in new[] { n0, n1 })
        {
            await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    using var put = new HttpRequestMessage(HttpMethod.Put, "/view") { Content = JsonContent.Create(view) };
                    put.Headers.Add("X-CausalKv-Key", key);
                    return (await node.SendAsync(put)).StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60), "both nodes take the view: " + node0.Tail + node1.Tail);
        }

        // Writes at node0 as fast as 32 clients send them, and SIGTERM while the last are still being acknowledged.
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 32).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var (k, v) = ($"w{w}-{i}", $"v{i}");
                try
                {
                    if ((await new KvSession().PutAsync(n0, k, v)).Status == HttpStatusCode.Created) acknowledged[k] = v;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return; }
            }
        })).ToArray();
        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count >= 3000), TimeSpan.FromSeconds(120), "3,000 writes acknowledged");
        var exit = node0.TerminateAsync(TimeSpan.FromSeconds(45));
        await Task.WhenAll(writers);
        Assert.Equal(0, await exit);
        Assert.Contains("every replica in touch holds", node0.Tail);

        // node0 is gone: node1 alone holds every write node0 acknowledged.
        var (items, _) = await new KvSession().ListAsync(n1, "w", 1000);
        var held = items.ToDictionary(kv => kv.Key, kv => kv.Value);
        var lacking = acknowledged.Where(kv => held.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => kv.Key).ToList();
        Assert.True(lacking.Count == 0, $"node1 lacks {lacking.Count} of the {acknowledged.Count} writes node0 acknowledged before it stopped, e.g. {string.Join(", ", lacking.Take(3))}");
    }
}
