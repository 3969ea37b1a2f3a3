using CausalKv.Router.Reconciliation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CausalKv.Tests.Router;

/// <summary>
/// Where the reconciler finds a declared member. A member known by its name only stays a name in the view, so a node
/// that comes back under its name at another IP needs no new view; an address given explicitly is read again every round.
/// </summary>
public sealed class MemberAddressesTests
{
    [Fact]
    public void A_member_known_by_name_only_is_its_name_at_the_declared_port()
    {
        var addresses = Addresses(new DeclarationOptions { Port = 9090 }, new ConfigurationManager());
        Assert.Equal("kv-1:9090", addresses.Resolve("kv-1", out var why));
        Assert.Null(why);
    }

    [Fact]
    public void An_explicit_address_or_a_service_discovery_entry_is_read_again_when_it_changes()
    {
        var configuration = new ConfigurationManager();
        configuration["services:kv-2:http:0"] = "http://10.0.0.5:8080";
        var options = new DeclarationOptions();
        var addresses = Addresses(options, configuration);
        Assert.Equal("10.0.0.5:8080", addresses.Resolve("kv-2", out _));

        configuration["services:kv-2:http:0"] = "http://10.0.0.9:8080"; // the node came back elsewhere
        Assert.Equal("10.0.0.9:8080", addresses.Resolve("kv-2", out _));

        options.Addresses["kv-2"] = "kv-2.kv.default.svc:8080"; // an explicit address wins
        Assert.Equal("kv-2.kv.default.svc:8080", addresses.Resolve("kv-2", out _));
    }

    [Fact]
    public void An_address_that_is_no_host_and_port_is_refused_with_why()
    {
        var options = new DeclarationOptions();
        options.Addresses["kv-0"] = "ftp://kv-0:21";
        Assert.Null(Addresses(options, new ConfigurationManager()).Resolve("kv-0", out var why));
        Assert.Contains("ftp://kv-0:21", why);
    }

    private static MemberAddresses Addresses(DeclarationOptions options, IConfiguration configuration) =>
        new(configuration, new FixedMonitor(options));

    private sealed class FixedMonitor(DeclarationOptions value) : IOptionsMonitor<DeclarationOptions>
    {
        public DeclarationOptions CurrentValue => value;

        public DeclarationOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<DeclarationOptions, string?> listener) => null;
    }
}
