using System.Text.Json;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// A "done" report with nothing in it (no keys, no writes to name) is still what the receiving shard's fence waits for.
/// Lost to a cut link, it must reach the shard once the link heals, not only after the fence's own timeout; and a node
/// killed before it went out must send it once it runs again (it keeps what it owes in its membership file).
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

    [Fact]
    public async Task A_report_still_owed_when_its_node_was_killed_is_sent_after_the_restart_and_lifts_the_fence()
    {
        await using var app = await KvApp.Create(nodes: 4, shards: 2).WithoutRouter()
            .WithNodeSetting("CausalWaitDeadline", "00:02:00").StartAsync();
        // shard0 = {0, 1}, shard1 = {2, 3}. Node 0 leaves shard0 for a new shard2: node 2, staying in shard1, waits for
        // the reports of shard0's nodes. No key of shard0 goes to shard1, so node 0's report to it is bare: cut off from
        // shard1, node 0 relays it in the background.
        await app.CutAsync(0, 2);
        await app.CutAsync(0, 3);
        await app.InstallViewAsync(new Dictionary<string, int[]> { ["shard0"] = [1], ["shard1"] = [2, 3], ["shard2"] = [0] });
        Assert.Contains("shard0", PendingFrom(await app.GetStatusAsync("node2")));

        // Killed, node 0 loses its relay. Restarted, it must still tell shard1 that it handed off shard0's keys: as a
        // node of shard0 for that view, not of shard2, where it is now.
        await app.KillResourceAsync("node0");
        await app.StartResourceAsync("node0");
        await app.HealAllAsync();
        await Eventually.HoldsAsync(async () => PendingFrom(await app.GetStatusAsync("node2")).Length == 0
                                                && PendingFrom(await app.GetStatusAsync("node3")).Length == 0, TimeSpan.FromSeconds(60),
            "shard1's fence lifts once the restarted node 0 sends the report it still owed");
    }
}
