using System.Net;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// Partitions are real (consistency.md, guarantee 9): every node runs as its own Unix user on its own loopback
/// address, and a cut drops, with iptables on lo, what one node's user sends to the other's address. A connection
/// attempt then hangs instead of being refused, so these tests prove what fault injection only imitates: that no
/// request path blocks on an unreachable peer but a causal wait, and that the nodes' short timeouts route around it.
/// Needs Linux, root and iptables (.ci/run installs iptables; CI runs as root).
/// </summary>
public sealed class RealPartitionTests(ITestOutputHelper output)
{
    /// <summary>What the contract calls a hang: a client with a 10 s timeout gives up.</summary>
    private static readonly TimeSpan ClientPatience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Waits = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Under_a_real_cut_nothing_but_a_causal_wait_blocks_and_the_replicas_converge_when_healed()
    {
        Assert.True(PacketFilterAvailable(out var why), $"This test cuts links with iptables: {why}");
        await using var app = await KvApp.Create(nodes: 4, shards: 2)
            .WithRealPartitions().WithoutRouter().WithNodeSetting("CausalWaitDeadline", "00:00:30").StartAsync();
        Assert.True(app.RealPartitions);
        var n = Enumerable.Range(0, 4).Select(i => app.CreateHttpClient($"node{i}", ClientPatience)).ToArray();
        var ring = new HashRing(app.Layout.Keys);
        var shard0 = app.Layout.Single(kv => kv.Value.Contains(0)).Key;
        var prefix = Guid.NewGuid().ToString("N")[..8];
        string KeyOf(bool inShard0, string name) =>
            Enumerable.Range(0, 1000).Select(i => $"{prefix}-{name}{i}").First(k => (ring.ShardFor(k) == shard0) == inShard0);
        var (x, y, z) = (KeyOf(true, "x"), KeyOf(true, "y"), KeyOf(false, "z"));

        // In touch: both replicas of shard0 hold x=0.
        Assert.Equal(HttpStatusCode.Created, (await new KvSession().PutAsync(n[0], x, "0")).Status);
        await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(n[1], x)).Value == "0", ClientPatience, "node1 holds x=0");

        // node0 is cut off from its peer node1 and from node2, one replica of the other shard.
        await app.CutAsync(0, 1);
        await app.CutAsync(0, 2);

        var alice = new KvSession();
        var write = alice.PutAsync(n[0], x, "1");
        Assert.False(await Eventually.IsStillPendingAfter(write, Waits), "a write never waits for the replica it cannot reach");
        Assert.Equal(HttpStatusCode.OK, (await write).Status);

        var aliceReads = alice.GetAsync(n[1], x);
        Assert.True(await Eventually.IsStillPendingAfter(aliceReads, Waits), "node1 lacks Alice's write, so her read there waits");

        foreach (var node in new[] { n[0], n[1] })
        {
            var ping = node.GetAsync("/ping");
            Assert.False(await Eventually.IsStillPendingAfter(ping, Waits), "/ping answers at once, always");
            Assert.Equal(HttpStatusCode.OK, (await ping).StatusCode);
        }
        var bob = new KvSession();
        var other = bob.PutAsync(n[1], y, "b");
        Assert.False(await Eventually.IsStillPendingAfter(other, Waits), "the other side of the cut takes writes at once too");
        Assert.Equal(HttpStatusCode.Created, (await other).Status);

        // A write node0 must forward: node2 is unreachable, node3 is not; the forward goes around the cut.
        var forwarded = await new KvSession().PutAsync(n[0], z, "z").WaitAsync(ClientPatience);
        Assert.Equal(HttpStatusCode.Created, forwarded.Status);
        Assert.Equal("z", (await new KvSession().GetAsync(n[3], z)).Value);

        // The cut was real: the kernel dropped packets node0 and node1 sent each other.
        await Eventually.HoldsAsync(async () => await app.DroppedPacketsAsync() > 0, ClientPatience, "iptables dropped the cut-off peers' packets");
        output.WriteLine($"packets dropped by the cut: {await app.DroppedPacketsAsync()}");

        await app.HealAllAsync();
        var read = await aliceReads.WaitAsync(ClientPatience);
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal("1", read.Value);
        await Eventually.HoldsAsync(async () => await n[0].GetStringAsync("/admin/digest") == await n[1].GetStringAsync("/admin/digest"),
            ClientPatience, "node0 and node1 converge once healed");
        Assert.Equal("b", (await new KvSession().GetAsync(n[0], y)).Value);
        foreach (var c in n) c.Dispose();
    }

    [Fact]
    public async Task The_packet_filter_is_left_as_it_was_found()
    {
        Assert.True(PacketFilterAvailable(out var why), $"This test cuts links with iptables: {why}");
        var before = await IptablesRulesAsync();
        await using (var app = await KvApp.Create(nodes: 2, shards: 1).WithRealPartitions().WithoutRouter().StartAsync())
        {
            await app.CutAsync(0, 1);
            var during = await IptablesRulesAsync();
            Assert.Equal(2, during.Split('\n').Count(l => l.Contains("DROP", StringComparison.Ordinal) && !before.Contains(l, StringComparison.Ordinal)));
            await app.HealAsync(0, 1);
            Assert.Equal(before, await IptablesRulesAsync());
            await app.CutAsync(0, 1); // left in place: disposing the app removes it
        }
        Assert.Equal(before, await IptablesRulesAsync());
    }

    private static bool PacketFilterAvailable(out string why)
    {
        why = CausalKv.Tests.Distributed.Support.PacketFilter.WhyUnavailable() ?? "";
        return why.Length == 0;
    }

    private static async Task<string> IptablesRulesAsync()
    {
        var info = new System.Diagnostics.ProcessStartInfo("iptables", ["-w", "-S", "OUTPUT"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = System.Diagnostics.Process.Start(info)!;
        var text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return text;
    }
}
