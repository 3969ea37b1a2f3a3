using System.Text.Json;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// A "done" report with nothing in it (no keys, no writes to name) is still what the receiving shard's fence waits for.
/// Lost to a cut link, it must reach the shard once the link heals, not only after the fence's own timeout.
/// </summary>
public sealed class HandoffReportTests
{
    private static string[] PendingFrom(JsonElement status) =>
        [.. status.GetProperty("handoffPendingFrom").EnumerateArray().Select(s => s.GetString()!)];

    [Fact]
    public async Task A_report_lost_to_a_cut_off_shard_reaches_it_after_the_heal_and_lifts_its_fence()
    {
        // The fence gives up by itself after twice the causal-wait deadline: 4 minutes here, far beyond this test.
        await using var app = await KvApp.Create(nodes: 3, shards: 2).WithoutRouter()
            .WithNodeSetting("CausalWaitDeadline", "00:02:00").StartAsync();
        // shard0 = {0}, shard1 = {1, 2}. Node 2 leaves shard1 for a new shard2: the ring changes, so node 1 (staying in
        // shard1) waits for node 0's report, and none of shard0's keys go to shard1: node 0's report to it is bare.
        await app.CutAsync(0, 1);
        await app.InstallViewAsync(new Dictionary<string, int[]> { ["shard0"] = [0], ["shard1"] = [1], ["shard2"] = [2] });
        Assert.Contains("shard0", PendingFrom(await app.GetStatusAsync("node1")));

        await app.HealAllAsync();
        await Eventually.HoldsAsync(async () => PendingFrom(await app.GetStatusAsync("node1")).Length == 0, TimeSpan.FromSeconds(60),
            "node 1's fence lifts once node 0's report reaches it");
    }
}
