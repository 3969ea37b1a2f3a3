namespace CausalKv.AppHost.Orchestration;

/// <summary>What the AppHost starts; bound from configuration (<c>CausalKv:AppHost</c>) and the command line.</summary>
public sealed class CausalKvAppOptions
{
    public int Nodes { get; set; } = 6;

    public int Shards { get; set; } = 3;

    /// <summary>Starts the router resource (the one address clients need).</summary>
    public bool StartRouter { get; set; } = true;

    /// <summary>Installs the initial view once the nodes are up; without it nodes wait for a <c>PUT /view</c>.</summary>
    public bool InstallInitialView { get; set; } = true;

    /// <summary>Lets the dashboard and tests cut links between nodes.</summary>
    public bool EnableFaultInjection { get; set; } = true;

    /// <summary>
    /// Cuts links for real instead of by fault injection: every node runs as its own Unix user
    /// (<see cref="FirstNodeUid"/> plus its loopback host number) and a cut drops, with iptables on <c>lo</c>, what one
    /// node's user sends to the other's address, as consistency.md describes. Linux, root, setpriv and iptables are needed.
    /// </summary>
    public bool RealPartitions { get; set; }

    /// <summary>Unix user ids for <see cref="RealPartitions"/>: node on 127.0.0.h runs as FirstNodeUid + h (no account is needed).</summary>
    public int FirstNodeUid { get; set; } = 64000;

    /// <summary>The cluster key injected into every service; generated when not set.</summary>
    public string? ClusterKey { get; set; }

    /// <summary>Where services send telemetry (OTLP/HTTP); none switches their exporter off.</summary>
    public string? OtlpEndpoint { get; set; }

    public string? OtlpApiKey { get; set; }

    /// <summary>First octet group of the loopback addresses nodes get: node i listens on 127.0.0.(First+i).</summary>
    public int FirstLoopbackHost { get; set; } = 10;

    /// <summary>Extra settings for every node, as environment variables (e.g. <c>CausalKv__CausalWaitDeadline</c>).</summary>
    public Dictionary<string, string?> NodeEnvironment { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, string?> RouterEnvironment { get; } = new(StringComparer.Ordinal);

    /// <summary>Where nodes keep their write-ahead logs (one folder each); a fresh temporary folder, removed at the end, when not set.</summary>
    public string? DataRoot { get; set; }

    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Receives every console line of every resource (tests forward it to their output).</summary>
    public Action<string, string>? ConsoleSink { get; set; }

    internal void Validate()
    {
        if (Shards < 1) throw new ArgumentException("At least one shard is needed.");
        if (Nodes < Shards) throw new ArgumentException($"{Nodes} nodes cannot fill {Shards} shards: every shard needs a node.");
        if (FirstLoopbackHost < 2 || FirstLoopbackHost + Nodes > 250) throw new ArgumentException("Loopback hosts out of range.");
        if (RealPartitions && PacketFilter.WhyUnavailable() is { } why) throw new InvalidOperationException($"RealPartitions is set, but {why}.");
        if (RealPartitions && FirstNodeUid < 1000) throw new ArgumentException("FirstNodeUid must leave the system's users alone (1000 or more).");
    }
}
