using System.Text;
using System.Text.Json;
using CausalKv.Node.Api;
using CausalKv.Router.Cluster;

namespace CausalKv.Tests.Router;

public sealed class ClusterPageApiTests
{
    [Fact]
    public void The_router_reads_every_field_the_page_uses_from_the_status_a_node_writes()
    {
        var written = new NodeStatus(3, "s1", 5, 42, "3.17",
            new() { ["3.17"] = 9, ["1.2"] = 4 }, new() { ["1.2"] = 4 }, false, ["s0"],
            [new PeerStatus(2, "127.0.0.12:8081", false, DateTimeOffset.UnixEpoch, new() { ["1.2"] = 1 }, 1, 2, 3, 4, 5)],
            11, 100, 200, [2], 4321);
        var json = JsonSerializer.Serialize(written, NodeApiJsonContext.Default.NodeStatus);

        var read = JsonSerializer.Deserialize(json, ClusterPageJsonContext.Default.ReportedNodeStatus)!;

        Assert.Equal((3, "s1", 5L, 42, "3.17", false, 11), (read.Node, read.Shard, read.Epoch, read.Keys, read.Origin, read.CaughtUp, read.LogEntries));
        Assert.Equal(written.Applied, read.Applied);
        Assert.Equal(written.Stable, read.Stable);
        Assert.Equal(["s0"], read.HandoffPendingFrom!);
        Assert.Equal([2], read.Blocked!);
        var peer = Assert.Single(read.Peers!);
        Assert.Equal((2, "127.0.0.12:8081", false, (DateTimeOffset?)DateTimeOffset.UnixEpoch), (peer.Id, peer.Address, peer.Reachable, peer.LastContact));
        Assert.Equal(new Dictionary<string, long> { ["1.2"] = 1 }, peer.Applied);
    }

    [Fact]
    public void The_page_is_embedded_self_contained_and_polls_its_state()
    {
        var page = Encoding.UTF8.GetString(ClusterPageApi.LoadPage());

        Assert.StartsWith("<!doctype html>", page);
        Assert.Contains("'/state'", page);
        Assert.DoesNotContain("src=\"http", page);
        Assert.DoesNotContain("href=\"http", page);
        Assert.DoesNotContain("@import", page);
    }
}
