using System.Text.Json.Nodes;
using CausalKv.Hosting;

namespace CausalKv.Tests.Hosting;

public sealed class ClusterLayoutTests
{
    [Theory]
    [InlineData(6, 3, "shard0: 0 1 | shard1: 2 3 | shard2: 4 5")]
    [InlineData(5, 2, "shard0: 0 1 | shard1: 2 3 4")]
    [InlineData(1, 1, "shard0: 0")]
    public void The_first_layout_gives_every_shard_consecutive_nodes(int nodes, int shards, string expected) =>
        Assert.Equal(expected, ClusterLayout.Describe(ClusterLayout.Initial(nodes, shards)));

    [Fact]
    public void Fewer_nodes_than_shards_is_refused() =>
        Assert.Throws<ArgumentException>(() => ClusterLayout.Initial(2, 3));

    [Fact]
    public void A_shard_is_added_after_the_highest_and_must_use_free_nodes()
    {
        var layout = ClusterLayout.Initial(4, 2);
        var added = ClusterLayout.WithShard(layout, [6, 7]);
        Assert.Equal("shard0: 0 1 | shard1: 2 3 | shard2: 6 7", ClusterLayout.Describe(added));
        Assert.Equal(2, layout.Count); // the input is left alone
        Assert.Throws<ArgumentException>(() => ClusterLayout.WithShard(layout, [3, 4]));
        Assert.Throws<ArgumentException>(() => ClusterLayout.WithShard(layout, []));
    }

    [Fact]
    public void Removing_takes_the_highest_shard_and_never_the_last_one()
    {
        var layout = ClusterLayout.WithShard(ClusterLayout.Initial(4, 2), [4, 5]);
        var (smaller, freed) = ClusterLayout.WithoutLastShard(layout);
        Assert.Equal("shard0: 0 1 | shard1: 2 3", ClusterLayout.Describe(smaller));
        Assert.Equal([4, 5], freed);
        var (one, _) = ClusterLayout.WithoutLastShard(smaller);
        Assert.Throws<InvalidOperationException>(() => ClusterLayout.WithoutLastShard(one));
    }

    [Fact]
    public void The_view_body_names_every_node_by_address_and_carries_the_epoch()
    {
        var body = CausalKv.Tests.Distributed.Support.ViewInstaller.Body(ClusterLayout.Initial(3, 2), id => $"127.0.0.1:{9000 + id}", 7);
        Assert.Equal(7, body["epoch"]!.GetValue<long>());
        var shard1 = body["view"]!["shard1"]!.AsArray();
        Assert.Equal(["127.0.0.1:9001", "127.0.0.1:9002"], shard1.Select(n => n!["address"]!.GetValue<string>()));
        Assert.Equal([1, 2], shard1.Select(n => n!["id"]!.GetValue<int>()));
        Assert.Null(CausalKv.Tests.Distributed.Support.ViewInstaller.Body(ClusterLayout.Initial(1, 1), _ => "a:1", null)["epoch"]);
    }
}
