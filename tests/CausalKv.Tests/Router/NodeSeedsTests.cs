using CausalKv.Router.Discovery;
using Microsoft.Extensions.Configuration;

namespace CausalKv.Tests.Router;

public sealed class NodeSeedsTests
{
    private static IConfiguration Config(params (string Key, string Value)[] entries) =>
        new ConfigurationBuilder().AddInMemoryCollection(entries.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value))).Build();

    [Fact]
    public void Every_service_discovery_entry_but_the_router_s_own_is_a_seed()
    {
        var config = Config(
            ("services:node0:http:0", "http://127.0.0.10:8081"),
            ("services:node1:http:0", "http://127.0.0.11:8081/"),
            ("services:router:http:0", "http://127.0.0.30:8080"),
            ("services:node2:https:0", "https://127.0.0.12:8443"));

        Assert.Equal(["http://127.0.0.10:8081", "http://127.0.0.11:8081"], NodeSeeds.Read(config, []));
    }

    [Fact]
    public void Configured_seeds_are_added_once_and_bad_urls_ignored()
    {
        var config = Config(("services:node0:http:0", "http://127.0.0.10:8081"));
        var seeds = NodeSeeds.Read(config, ["http://127.0.0.10:8081", "http://127.0.0.12:8081", "127.0.0.13:8081", "", "ftp://x:1"]);
        Assert.Equal(["http://127.0.0.10:8081", "http://127.0.0.12:8081"], seeds);
    }
}
