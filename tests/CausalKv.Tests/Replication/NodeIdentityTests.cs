using CausalKv.Node.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CausalKv.Tests.Replication;

/// <summary>A node's id: configured, else NODE_IDENTIFIER, else the ordinal its host name ends in (as a StatefulSet names pods).</summary>
public sealed class NodeIdentityTests
{
    [Theory]
    [InlineData("kv-3", 3)]
    [InlineData("kv-0", 0)]
    [InlineData("causalkv-node-12", 12)]
    [InlineData("kv-3.kv.default.svc.cluster.local", 3)]
    [InlineData(" kv-7 ", 7)]
    public void A_host_name_ending_in_an_ordinal_names_the_node(string host, int id) =>
        Assert.Equal(id, NodeIdentity.OrdinalOf(host));

    [Theory]
    [InlineData("")]
    [InlineData("kv")]
    [InlineData("kv-")]
    [InlineData("-3")]
    [InlineData("kv3")]
    [InlineData("kv-3a")]
    [InlineData("kv-+3")]
    [InlineData("kv.3-4")] // the ordinal belongs to the first label only
    [InlineData("kv-99999999999")]
    public void Other_host_names_name_no_node(string host) => Assert.Null(NodeIdentity.OrdinalOf(host));

    [Fact]
    public void A_node_without_a_configured_id_takes_its_host_names_ordinal() =>
        Assert.Equal(3, Identity(("HOSTNAME", "kv-3")).NodeId);

    [Fact]
    public void A_configured_id_wins_over_the_host_name() =>
        Assert.Equal(5, Identity(("HOSTNAME", "kv-3"), ("NODE_IDENTIFIER", "5")).NodeId);

    [Fact]
    public void The_same_name_at_another_address_is_the_same_node()
    {
        // Identity depends on the name alone: a pod rescheduled at a new IP keeps its id, and with it its data folder's log.
        Assert.Equal(Identity(("HOSTNAME", "kv-1")).NodeId, Identity(("HOSTNAME", "kv-1"), ("POD_IP", "10.0.0.99")).NodeId);
    }

    [Fact]
    public void Without_an_id_or_an_ordinal_the_node_says_what_to_set()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Identity(("HOSTNAME", "store")));
        Assert.Contains("NODE_IDENTIFIER", e.Message);
        Assert.Contains("'store'", e.Message);
    }

    private static NodeIdentity Identity(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
        return new NodeIdentity(Options.Create(new NodeOptions()), configuration);
    }
}
