using CausalKv.Sharding;
using static CausalKv.Tests.Sharding.ShardingTestViews;

namespace CausalKv.Tests.Sharding;

public sealed class ShardViewTests
{
    private static readonly ViewNode N1 = new("10.0.0.1:8080", 1);
    private static readonly ViewNode N2 = new("10.0.0.2:8080", 2);
    private static readonly ViewNode N3 = new("node-3.local:9000", 3);
    private static readonly ViewNode N4 = new("[::1]:8084", 4);

    [Fact]
    public void ValidView_Passes_AndHelpersWork()
    {
        var layout = Layout(("s2", [N3, N4]), ("s1", [N2, N1]));
        Assert.Null(ShardView.Validate(layout));
        Assert.True(ShardView.TryCreate(7, layout, out var view, out var error));
        Assert.Null(error);

        Assert.Equal(7, view.Epoch);
        Assert.Equal(["s1", "s2"], view.ShardNames);
        Assert.Equal([N2, N1], view.NodesOf("s1")); // replica order preserved
        Assert.Equal([N3, N4], view.Shards["s2"]);
        Assert.Empty(view.NodesOf("nope"));
        Assert.Equal("s1", view.ShardOf(1));
        Assert.Equal("s2", view.ShardOf(4));
        Assert.Null(view.ShardOf(99));
        Assert.True(view.Contains(3));
        Assert.False(view.Contains(99));
        Assert.Equal([N2, N1, N3, N4], view.AllNodes);
    }

    [Fact]
    public void View_IsADefensiveCopy()
    {
        var nodes = new List<ViewNode> { N1 };
        var map = new Dictionary<string, IReadOnlyList<ViewNode>> { ["s1"] = nodes };
        var view = ShardView.Create(1, map);
        nodes.Add(N2);
        map["s2"] = [N3];
        Assert.Single(view.NodesOf("s1"));
        Assert.Equal(["s1"], view.ShardNames);
    }

    public static TheoryData<string, IReadOnlyDictionary<string, IReadOnlyList<ViewNode>>, string> InvalidLayouts => new()
    {
        { "no shards", Layout(), "at least one shard" },
        { "empty shard name", Layout(("", [N1])), "shard name" },
        { "whitespace shard name", Layout(("  ", [N1])), "shard name" },
        { "empty shard", Layout(("s1", [N1]), ("s2", [])), "'s2' has no nodes" },
        { "duplicate id across shards", Layout(("s1", [N1]), ("s2", [new ViewNode("10.0.0.9:8080", 1)])), "duplicate node id 1" },
        { "duplicate id within shard", Layout(("s1", [N1, new ViewNode("10.0.0.9:8080", 1)])), "duplicate node id 1" },
        { "duplicate address across shards", Layout(("s1", [N1]), ("s2", [new ViewNode("10.0.0.1:8080", 9)])), "duplicate address" },
        { "duplicate address differing in case", Layout(("s1", [new ViewNode("Node-A:80", 1), new ViewNode("node-a:80", 2)])), "duplicate address" },
        { "empty address", Layout(("s1", [new ViewNode("", 1)])), "address must not be empty" },
        { "no port", Layout(("s1", [new ViewNode("10.0.0.1", 1)])), "host:port" },
        { "empty host", Layout(("s1", [new ViewNode(":8080", 1)])), "empty host" },
        { "empty port", Layout(("s1", [new ViewNode("host:", 1)])), "invalid port" },
        { "port zero", Layout(("s1", [new ViewNode("host:0", 1)])), "invalid port" },
        { "port too large", Layout(("s1", [new ViewNode("host:65536", 1)])), "invalid port" },
        { "port not numeric", Layout(("s1", [new ViewNode("host:http", 1)])), "invalid port" },
        { "port signed", Layout(("s1", [new ViewNode("host:+80", 1)])), "invalid port" },
        { "port negative", Layout(("s1", [new ViewNode("host:-1", 1)])), "invalid port" },
        { "host with space", Layout(("s1", [new ViewNode("my host:80", 1)])), "invalid host" },
    };

    [Theory]
    [MemberData(nameof(InvalidLayouts))]
    public void InvalidLayout_YieldsError(string caseName, IReadOnlyDictionary<string, IReadOnlyList<ViewNode>> layout, string expectedFragment)
    {
        string? error = ShardView.Validate(layout);
        Assert.NotNull(error);
        Assert.Contains(expectedFragment, error, StringComparison.Ordinal);

        Assert.False(ShardView.TryCreate(1, layout, out var view, out var tryError), caseName);
        Assert.Null(view);
        Assert.Equal(error, tryError);
        var ex = Assert.Throws<ArgumentException>(() => ShardView.Create(1, layout));
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NullLayout_AndNullNode_AndNegativeEpoch_AreRejected()
    {
        Assert.NotNull(ShardView.Validate(null));
        Assert.NotNull(ShardView.Validate(Layout(("s1", [null!]))));
        Assert.False(ShardView.TryCreate(-1, Layout(("s1", [N1])), out _, out var error));
        Assert.Contains("epoch", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:1")]
    [InlineData("localhost:65535")]
    [InlineData("10.1.2.3:8080")]
    [InlineData("[::1]:8080")]
    [InlineData("node-1.cluster.local:13800")]
    public void WellFormedAddresses_Pass(string address) => Assert.Null(ShardView.AddressError(address));

    [Fact]
    public void SameLayoutAs_IgnoresEpochAndReplicaOrder()
    {
        var a = ShardView.Create(1, Layout(("s1", [N1, N2]), ("s2", [N3])));
        var b = ShardView.Create(9, Layout(("s2", [N3]), ("s1", [N2, N1])));
        Assert.True(a.SameLayoutAs(b));
        Assert.True(b.SameLayoutAs(a));
        Assert.True(a.SameLayoutAs(a.WithEpoch(5)));
    }

    [Fact]
    public void SameLayoutAs_DetectsDifferences()
    {
        var a = ShardView.Create(1, Layout(("s1", [N1, N2]), ("s2", [N3])));
        // node moved between shards
        Assert.False(a.SameLayoutAs(ShardView.Create(1, Layout(("s1", [N1]), ("s2", [N2, N3])))));
        // shard renamed
        Assert.False(a.SameLayoutAs(ShardView.Create(1, Layout(("s1", [N1, N2]), ("s3", [N3])))));
        // shard added
        Assert.False(a.SameLayoutAs(ShardView.Create(1, Layout(("s1", [N1, N2]), ("s2", [N3]), ("s3", [N4])))));
        // node removed
        Assert.False(a.SameLayoutAs(ShardView.Create(1, Layout(("s1", [N1]), ("s2", [N3])))));
        // same id, different address
        Assert.False(a.SameLayoutAs(ShardView.Create(1, Layout(("s1", [N1, new ViewNode("10.0.0.2:9999", 2)]), ("s2", [N3])))));
        // same address, different id
        Assert.False(a.SameLayoutAs(ShardView.Create(1, Layout(("s1", [N1, new ViewNode("10.0.0.2:8080", 7)]), ("s2", [N3])))));
    }

    [Fact]
    public void CreateRing_UsesShardNames()
    {
        var view = View(1, ("b", [1]), ("a", [2]), ("c", [3]));
        Assert.Equal(["a", "b", "c"], view.CreateRing().Shards);
    }
}
