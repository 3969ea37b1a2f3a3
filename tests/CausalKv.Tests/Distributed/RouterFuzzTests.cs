using System.Globalization;

namespace CausalKv.Tests.Distributed;

/// <summary>The HTTP surface fuzzed on the shared router cluster (two shards of two replicas and the router).</summary>
public sealed partial class RouterTests
{
    /// <summary>Requests per run in the suite; the bench's <c>fuzz</c> scenario runs a long one (FUZZ_REQUESTS).</summary>
    private const int FuzzRequests = 1500;

    [Fact]
    public async Task Random_and_mutated_requests_to_every_node_and_the_router_are_answered_2xx_or_a_JSON_4xx_and_change_no_acknowledged_write()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount;
        var targets = cluster.App.Nodes.Select(n => (n.Name, cluster.App.Endpoint(n.Name)))
            .Append(("router", cluster.App.Endpoint("router"))).ToList();
        var fuzzer = new HttpSurfaceFuzzer(seed, targets, _p);
        await fuzzer.RunAsync(FuzzRequests);
        Step($"seed {seed} (FUZZ_SEED replays it): {fuzzer.Requests} requests, {fuzzer.Acknowledged} acknowledged writes read back; statuses " +
             string.Join(", ", fuzzer.Statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.True(fuzzer.Findings.Count == 0, $"seed {seed} (FUZZ_SEED replays it):\n" + string.Join("\n", fuzzer.Findings));
        Assert.True(fuzzer.Acknowledged > 0, "no fuzzed write was acknowledged, so none was checked");
        Assert.Contains(fuzzer.Statuses.Keys, status => status >= 400);
    }
}
