using System.Text;
using System.Text.Json;
using CausalKv.Protocol;
using CausalKv.Router.Cluster;

namespace CausalKv.Tests.Router;

public sealed class ClusterPageApiTests
{
    [Fact]
    public void The_status_a_node_writes_keeps_its_wire_form_and_the_router_reads_every_field_the_page_uses()
    {
        var written = new NodeStatusReport(3, "s1", 5, 42, "3.17",
            new() { ["3.17"] = 9, ["1.2"] = 4 }, new() { ["1.2"] = 4 }, false, ["s0"],
            [new PeerStatusReport(2, "127.0.0.12:8081", false, DateTimeOffset.UnixEpoch, new() { ["1.2"] = 1 }, 1, 2, 3, 4, 5)],
            11, 100, 200, [2], 4321);
        var json = JsonSerializer.Serialize(written, NodeStatusJsonContext.Default.NodeStatusReport);

        // What nodes of earlier versions wrote, byte for byte: routers, dashboards and ckv of any version read it.
        Assert.Equal("""{"node":3,"shard":"s1","epoch":5,"keys":42,"origin":"3.17","applied":{"3.17":9,"1.2":4},"stable":{"1.2":4},"caughtUp":false,"handoffPendingFrom":["s0"],"peers":[{"id":2,"address":"127.0.0.12:8081","reachable":false,"lastContact":"1970-01-01T00:00:00+00:00","applied":{"1.2":1},"batchesSent":1,"writesSent":2,"gossipRounds":3,"gossipBytes":4,"replicationBytes":5}],"logEntries":11,"peerBytesSent":100,"peerBytesReceived":200,"blocked":[2],"pid":4321}""", json);

        var read = JsonSerializer.Deserialize(json, NodeStatusJsonContext.Default.NodeStatusReport)!;

        Assert.Equal((3, "s1", 5L, 42L, "3.17", false, 11), (read.Node, read.Shard, read.Epoch, read.Keys, read.Origin, read.CaughtUp, read.LogEntries));
        Assert.Equal(written.Applied, read.Applied);
        Assert.Equal(written.Stable, read.Stable);
        Assert.Equal(["s0"], read.HandoffPendingFrom!);
        Assert.Equal([2], read.Blocked!);
        var peer = Assert.Single(read.Peers!);
        Assert.Equal((2, "127.0.0.12:8081", false, (DateTimeOffset?)DateTimeOffset.UnixEpoch), (peer.Id, peer.Address, peer.Reachable, peer.LastContact));
        Assert.Equal(new Dictionary<string, long> { ["1.2"] = 1 }, peer.Applied);
    }

    [Fact]
    public void A_status_without_its_collections_still_reads()
    {
        var read = JsonSerializer.Deserialize("""{"Node":1,"shard":null,"epoch":2,"keys":3,"caughtUp":true}""", NodeStatusJsonContext.Default.NodeStatusReport)!;

        Assert.Equal((1, 2L, 3L, true), (read.Node, read.Epoch, read.Keys, read.CaughtUp));
        Assert.Null(read.Peers);
        Assert.Null(read.Applied);
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
