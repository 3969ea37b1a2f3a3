namespace CausalKv.Router.Discovery;

/// <summary>
/// The nodes the router asks for the view before it knows one: every service-discovery entry the AppHost injects
/// (<c>services:&lt;name&gt;:http:0</c>, i.e. <c>services__node0__http__0</c>) except the router's own, plus
/// <c>CausalKv:Router:Seeds</c> for standalone use. Once a view is known its addresses are polled as well.
/// </summary>
internal static class NodeSeeds
{
    public const string ServicesSection = "services";
    private const string RouterService = "router";

    /// <summary>Base URLs (<c>scheme://host:port</c>, no trailing slash), distinct, in configuration order.</summary>
    public static IReadOnlyList<string> Read(IConfiguration configuration, IEnumerable<string> configuredSeeds)
    {
        var seeds = new List<string>();
        foreach (var service in configuration.GetSection(ServicesSection).GetChildren())
        {
            if (string.Equals(service.Key, RouterService, StringComparison.OrdinalIgnoreCase)) continue;
            Add(seeds, service["http:0"]);
        }
        foreach (var seed in configuredSeeds) Add(seeds, seed);
        return seeds;
    }

    private static void Add(List<string> seeds, string? url)
    {
        if (!Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)) return;
        var baseUrl = uri.GetLeftPart(UriPartial.Authority);
        if (!seeds.Contains(baseUrl, StringComparer.OrdinalIgnoreCase)) seeds.Add(baseUrl);
    }
}
