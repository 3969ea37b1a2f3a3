using CausalKv.AppHost.Orchestration;

namespace CausalKv.AppHost.Testing;

/// <summary>
/// Starts the CausalKv application from a test the way users start it, in the
/// shape of Aspire.Hosting.Testing: create a builder, adjust it, build, start,
/// then get HttpClients for resources by name. Under test the dashboard is off,
/// ports are free ones, fault injection is on, and resource output goes to the
/// test's logger.
/// </summary>
public sealed class CausalKvTestingBuilder
{
    private static int _nextHost = 10;

    private CausalKvTestingBuilder(int nodes, int shards)
    {
        Options = new CausalKvAppOptions
        {
            Nodes = nodes,
            Shards = shards,
            EnableFaultInjection = true,
            FirstLoopbackHost = NextHosts(nodes),
        };
    }

    public CausalKvAppOptions Options { get; }

    public static CausalKvTestingBuilder Create(int nodes = 4, int shards = 2) => new(nodes, shards);

    /// <summary>A <c>CausalKv:*</c> setting for every node, e.g. <c>("CausalWaitDeadline", "00:00:05")</c>.</summary>
    public CausalKvTestingBuilder WithNodeSetting(string name, string value)
    {
        Options.NodeEnvironment["CausalKv__" + name.Replace(":", "__", StringComparison.Ordinal)] = value;
        return this;
    }

    /// <summary>Nodes start without a view (the router is left out too): they serve /ping and refuse data until a PUT /view.</summary>
    public CausalKvTestingBuilder WithoutInitialView()
    {
        Options.InstallInitialView = false;
        Options.StartRouter = false;
        return this;
    }

    /// <summary>
    /// Cuts drop packets for real (each node its own Unix user, iptables on lo) instead of by fault injection;
    /// needs Linux, root and iptables.
    /// </summary>
    public CausalKvTestingBuilder WithRealPartitions()
    {
        Options.RealPartitions = true;
        return this;
    }

    public CausalKvTestingBuilder WithoutRouter()
    {
        Options.StartRouter = false;
        return this;
    }

    public CausalKvTestingBuilder WithConsoleSink(Action<string, string> sink)
    {
        Options.ConsoleSink = sink;
        return this;
    }

    public CausalKvApp Build() => new(Options);

    /// <summary>Builds and starts; the returned app is running, with the view installed and every resource healthy.</summary>
    public async Task<CausalKvApp> StartAsync(CancellationToken ct = default)
    {
        var app = Build();
        try
        {
            await app.StartAsync(ct);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    // Apps started side by side get separate loopback addresses, so their nodes are easy to tell apart.
    private static int NextHosts(int count)
    {
        while (true)
        {
            var start = Volatile.Read(ref _nextHost);
            var next = start + count + 1 > 240 ? 10 : start;
            if (Interlocked.CompareExchange(ref _nextHost, next + count + 1, start) == start) return next;
        }
    }
}
