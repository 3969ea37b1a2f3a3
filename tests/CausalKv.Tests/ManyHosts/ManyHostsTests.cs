using System.Net.Http.Json;
using System.Net;
using System.Text.Json;
using CausalKv.Tests.Distributed;
using Xunit.Abstractions;

namespace CausalKv.Tests.ManyHosts;

/// <summary>
/// CausalKv with every node and router on a host of its own (a network namespace with its own address, reaching the
/// others by name), each started with the environment deploy/kubernetes gives its pod. Needs root (CI runs as root).
/// </summary>
public sealed class ManyHostsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    [Fact]
    public async Task Pods_started_with_the_manifest_environment_answer_their_probes_on_their_own_hosts()
    {
        Assert.True(HostNetwork.WhyUnavailable() is null, HostNetwork.WhyUnavailable());
        await using var cluster = await PodCluster.CreateAsync();
        Step($"{cluster.Network.Hosts.Count} hosts on bridge {cluster.Network.Bridge}");
        cluster.StartAll();
        try
        {
            foreach (var host in cluster.Network.Hosts.Select(h => h.Name))
            {
                using var client = cluster.Client(host);
                await Eventually.HoldsAsync(() => PodCluster.AnswersAsync(client, "/alive", HttpStatusCode.OK), Patience, $"{host} answers /alive");
                using var health = await client.GetAsync("/health");
                // A probe path that exists: 200 when ready, a JSON 503 while not (never a 404).
                Assert.True(health.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{host} /health: {health.StatusCode}");
                using var _ = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
            }
            Step("every pod answers /alive and /health at its own address");
            using var node = cluster.Client("kv-1");
            var status = await node.GetFromJsonAsync<JsonElement>("/admin/status");
            Assert.Equal(1, status.GetProperty("node").GetInt32()); // its id is its pod's ordinal
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{cluster.Logs()}");
        }
    }
}
