using CausalKv.Client;

namespace CausalKv.Client.Aspire;

/// <summary>
/// Settings of the client <c>AddCausalKvClient</c> registers, bound from the <c>CausalKv:Client</c> configuration
/// section (and <c>CausalKv:Client:{name}</c> for one connection), then from the connection string, then from code.
/// </summary>
public sealed class CausalKvClientSettings
{
    /// <summary>
    /// Where the cluster is: <c>Endpoints=http://host:port,...</c> (what a CausalKv cluster resource gives its references),
    /// optionally <c>;Routing=ViaRouter</c>; or a plain URL of a router or node. Read from <c>ConnectionStrings:{name}</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Straight to the owning replicas (the default), or everything through the router.</summary>
    public CausalKvRouting? Routing { get; set; }

    /// <summary>See <see cref="CausalKvClientOptions.ConnectTimeout"/>.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>See <see cref="CausalKvClientOptions.RequestTimeout"/>.</summary>
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary>See <see cref="CausalKvClientOptions.ViewRefreshInterval"/>.</summary>
    public TimeSpan? ViewRefreshInterval { get; set; }

    /// <summary>No health check (it asks the cluster for its view).</summary>
    public bool DisableHealthChecks { get; set; }

    /// <summary>How long the health check may take.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>No OpenTelemetry tracing of the client's operations.</summary>
    public bool DisableTracing { get; set; }

    /// <summary>No OpenTelemetry metrics of the client's operations.</summary>
    public bool DisableMetrics { get; set; }

    /// <summary>The client options these settings make; throws with what is missing or wrong.</summary>
    internal CausalKvClientOptions ToOptions(string connectionName)
    {
        var options = new CausalKvClientOptions();
        if (string.IsNullOrWhiteSpace(ConnectionString))
            throw new InvalidOperationException(
                $"CausalKv client '{connectionName}': no connection string. Give one as ConnectionStrings:{connectionName} (an AppHost's WithReference does), " +
                $"or set CausalKv:Client:ConnectionString.");
        if (!CausalKvConnectionString.TryParse(ConnectionString, out var endpoints, out var routing, out var error))
            throw new InvalidOperationException($"CausalKv client '{connectionName}': {error}");
        foreach (var e in endpoints) options.Endpoints.Add(e);
        options.Routing = Routing ?? routing ?? CausalKvRouting.Direct;
        if (ConnectTimeout is { } connect) options.ConnectTimeout = connect;
        if (RequestTimeout is { } request) options.RequestTimeout = request;
        if (ViewRefreshInterval is { } refresh) options.ViewRefreshInterval = refresh;
        if (options.Validate() is { } invalid) throw new InvalidOperationException($"CausalKv client '{connectionName}': {invalid}");
        return options;
    }
}
