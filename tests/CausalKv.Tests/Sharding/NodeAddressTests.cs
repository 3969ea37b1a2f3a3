using CausalKv.Sharding;

namespace CausalKv.Tests.Sharding;

/// <summary>View addresses are plain host:port, and one endpoint is one node however its address is spelled.</summary>
public sealed class NodeAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:8080")]
    [InlineData("10.0.0.255:1")]
    [InlineData("localhost:65535")]
    [InlineData("LocalHost:80")]
    [InlineData("node-1.cluster.local:13800")]
    [InlineData("my_service:80")]
    [InlineData("h:1")]
    [InlineData("[::1]:80")]
    [InlineData("[fe80::1]:80")]
    [InlineData("[::ffff:127.0.0.1]:80")]
    public void Plain_host_and_port_is_an_address(string address) => Assert.Null(NodeAddress.Error(address));

    [Theory]
    [InlineData("evil/x:80")]
    [InlineData("h/x:80")]
    [InlineData("h?x=1:80")]
    [InlineData("user@h:80")]
    [InlineData("h#f:80")]
    [InlineData("my host:80")]
    [InlineData("h%41:80")]
    [InlineData("http://h:80")]
    [InlineData("h:80/path")]
    [InlineData("h")]
    [InlineData(":80")]
    [InlineData("h:")]
    [InlineData("h:0")]
    [InlineData("h:65536")]
    [InlineData("h:080")]
    [InlineData("h:+80")]
    [InlineData("-h:80")]
    [InlineData("h..x:80")]
    [InlineData("h.:80")]
    [InlineData("127.0.0.01:80")]
    [InlineData("127.1:80")]
    [InlineData("0x7f.0.0.1:80")]
    [InlineData("2130706433:80")]
    [InlineData("256.0.0.1:80")]
    [InlineData("::1:80")]
    [InlineData("[::1:80")]
    [InlineData("[fe80::1%eth0]:80")]
    [InlineData("[127.0.0.1]:80")]
    [InlineData("ünicode:80")]
    public void Anything_else_is_refused(string address) => Assert.NotNull(NodeAddress.Error(address));

    [Theory]
    [InlineData("127.0.0.1:80", "localhost:80")]
    [InlineData("localhost:80", "LOCALHOST:80")]
    [InlineData("[::1]:80", "localhost:80")]
    [InlineData("Node-A:80", "node-a:80")]
    [InlineData("[::1]:80", "[0:0:0:0:0:0:0:1]:80")]
    [InlineData("[::ffff:127.0.0.1]:80", "127.0.0.1:80")]
    [InlineData("127.0.0.1:80", "127.0.0.1:80")]
    public void Two_spellings_of_one_endpoint_are_one_node(string a, string b)
    {
        var shards = new Dictionary<string, IReadOnlyList<ViewNode>> { ["s0"] = [new ViewNode(a, 0)], ["s1"] = [new ViewNode(b, 1)] };
        var error = ShardView.Validate(shards);
        Assert.NotNull(error);
        Assert.Contains("duplicate address", error);
        Assert.Contains(NodeAddress.Identities(a), NodeAddress.Identities(b).Contains);
    }

    [Theory]
    [InlineData("127.0.0.1:80", "127.0.0.1:81")]
    [InlineData("127.0.0.1:80", "127.0.0.2:80")]
    [InlineData("a:80", "b:80")]
    public void Different_endpoints_are_different_nodes(string a, string b)
    {
        var shards = new Dictionary<string, IReadOnlyList<ViewNode>> { ["s0"] = [new ViewNode(a, 0), new ViewNode(b, 1)] };
        Assert.Null(ShardView.Validate(shards));
    }
}
