using CausalKv.Router.Discovery;
using CausalKv.Sharding;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Reconciliation;

/// <summary>
/// Where a declared member listens now, read again every round (configuration reloads, a service-discovery entry that
/// changed): <c>CausalKv:Cluster:Addresses:&lt;name&gt;</c>, else <c>services:&lt;name&gt;:http:0</c> (what Aspire's
/// <c>WithReference</c> injects), else the name itself as a host at <c>CausalKv:Cluster:Port</c>. A view carries what
/// this says, so names stay names: every node resolves them itself.
/// </summary>
internal sealed class MemberAddresses(IConfiguration configuration, IOptionsMonitor<DeclarationOptions> options)
{
    /// <summary><c>host:port</c>, or null with why.</summary>
    public string? Resolve(string name, out string? why)
    {
        var o = options.CurrentValue;
        var configured = o.Addresses.TryGetValue(name, out var a) ? a : configuration[$"{NodeSeeds.ServicesSection}:{name}:http:0"];
        var address = configured is null ? $"{name}:{o.Port}" : ToAddress(configured);
        why = address is null ? $"its address '{configured}' is not host:port or an http URL"
            : NodeAddress.Error(address) is { } error ? error : null;
        return why is null ? address : null;
    }

    private static string? ToAddress(string configured)
    {
        configured = configured.Trim();
        if (Uri.TryCreate(configured, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            return $"{uri.Host}:{uri.Port}";
        return configured.Contains("://", StringComparison.Ordinal) ? null : configured;
    }
}
