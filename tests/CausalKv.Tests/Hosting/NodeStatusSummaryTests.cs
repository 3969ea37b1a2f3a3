using System.Text.Json;
using CausalKv.Hosting;

namespace CausalKv.Tests.Hosting;

public sealed class NodeStatusSummaryTests
{
    private static NodeStatusSummary Parse(string json) => NodeStatusSummary.Parse(JsonDocument.Parse(json).RootElement);

    [Fact]
    public void Missing_counts_per_origin_the_most_any_peer_is_ahead()
    {
        var s = Parse("""
            {"node": 0, "shard": "shard0", "epoch": 3, "keys": 42, "caughtUp": false, "blocked": [1], "pid": 1234,
             "applied": {"0.1": 10, "1.1": 5},
             "peers": [
               {"id": 1, "reachable": false, "applied": {"0.1": 8, "1.1": 9, "2.1": 2}},
               {"id": 2, "reachable": true,  "applied": {"0.1": 10, "1.1": 7}}
             ]}
            """);
        // 1.1: a peer has 9, we have 5 -> 4; 2.1: unknown to us -> 2; 0.1: nobody is ahead.
        Assert.Equal(6, s.MissingFromPeers);
        Assert.Equal("shard0", s.Shard);
        Assert.Equal(3, s.Epoch);
        Assert.Equal(42, s.Keys);
        Assert.False(s.CaughtUp);
        Assert.Equal([1], s.Blocked);
        Assert.Equal([1], s.Unreachable);
        Assert.Equal(1234, s.Pid);
    }

    [Fact]
    public void A_node_without_a_view_or_peers_misses_nothing() =>
        Assert.Equal(new NodeStatusSummary(null, 0, 0, 0, true, [], [], 7).ToString(),
            Parse("""{"node": 0, "shard": null, "epoch": 0, "keys": 0, "caughtUp": true, "applied": {}, "peers": [], "blocked": [], "pid": 7}""").ToString());
}
