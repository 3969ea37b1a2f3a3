namespace CausalKv.Client;

/// <summary>
/// Settings of a <see cref="CausalKvClient"/>. A plain class with settable properties, so that it binds from
/// configuration (e.g. a <c>CausalKv:Client</c> section) as well as from code; <see cref="Validate"/> says what is wrong.
/// </summary>
public sealed class CausalKvClientOptions
{
    /// <summary>
    /// Where to start: the router's URL, or any nodes' URLs (<c>http://host:port</c>). With
    /// <see cref="CausalKvRouting.Direct"/> they are asked for the view; with <see cref="CausalKvRouting.ViaRouter"/>
    /// every request goes to them, the next one when one cannot be reached.
    /// </summary>
    public IList<Uri> Endpoints { get; set; } = [];

    /// <summary>Straight to the owning shard's replicas (the default), or everything through the router.</summary>
    public CausalKvRouting Routing { get; set; } = CausalKvRouting.Direct;

    /// <summary>
    /// How long connecting to a replica may take before the next replica is tried. Short: a node cut off by a partition
    /// drops packets, so a connection attempt to it hangs rather than fails.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one request may take once sent. Longer than the nodes' causal-wait deadline (30 s by default), so that a
    /// read waiting for a write it depends on ends with the node's answer (<see cref="CausalWaitTimeoutException"/>).
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// How old the view may grow before a request starts refreshing it in the background. A node answers for keys it
    /// does not own by forwarding them, so a stale view still works (at the cost of a hop); this bounds how long.
    /// </summary>
    public TimeSpan ViewRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a replica that could not be reached is tried only after the shard's others.</summary>
    public TimeSpan FailedReplicaPenalty { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The error in these settings, or null when they are usable.</summary>
    public string? Validate()
    {
        if (Endpoints is null || Endpoints.Count == 0) return "CausalKv client options: at least one endpoint (the router's or a node's URL) is needed.";
        foreach (var endpoint in Endpoints)
        {
            if (endpoint is null || !endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
                return $"CausalKv client options: endpoint '{endpoint}' is not an absolute http(s) URL.";
        }
        if (!Enum.IsDefined(Routing)) return $"CausalKv client options: unknown routing '{Routing}'.";
        if (ConnectTimeout <= TimeSpan.Zero) return "CausalKv client options: ConnectTimeout must be positive.";
        if (RequestTimeout <= TimeSpan.Zero) return "CausalKv client options: RequestTimeout must be positive.";
        if (ViewRefreshInterval <= TimeSpan.Zero) return "CausalKv client options: ViewRefreshInterval must be positive.";
        if (FailedReplicaPenalty < TimeSpan.Zero) return "CausalKv client options: FailedReplicaPenalty must not be negative.";
        return null;
    }
}
