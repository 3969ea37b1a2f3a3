using CausalKv.Causality;
using CausalKv.Router.Discovery;
using CausalKv.Router.Health;
using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;

namespace CausalKv.Router;

/// <summary>The router's parts, one registration per concept, in the order Program.cs reads them.</summary>
internal static class RouterRegistration
{
    /// <summary><see cref="RouterOptions"/> (validated at start), the cluster's metadata codec and the router's telemetry.</summary>
    public static WebApplicationBuilder AddRouterOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RouterOptions>()
            .Bind(builder.Configuration.GetSection(RouterOptions.SharedSection))
            .Bind(builder.Configuration.GetSection(RouterOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.TimingsArePositive(), "CausalKv:Router: every interval, timeout, penalty and deadline must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp =>
            new CausalMetadataCodec(CausalMetadataCodec.ClusterIdFor(sp.GetRequiredService<IOptions<RouterOptions>>().Value.ClusterKey)));
        builder.Services.AddSingleton<RouterTelemetry>();
        builder.Services.AddSingleton<NodeTransport>();
        return builder;
    }

    /// <summary>Learning the view from the nodes, and installing one on all of them.</summary>
    public static IServiceCollection AddViewDiscovery(this IServiceCollection services)
    {
        services.AddSingleton<ViewTracker>();
        services.AddSingleton<ViewPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<ViewPoller>());
        services.AddSingleton<ViewBroadcaster>();
        return services;
    }

    /// <summary>Active health probes of every replica.</summary>
    public static IServiceCollection AddReplicaHealth(this IServiceCollection services) =>
        services.AddHostedService<ReplicaHealthProber>();

    /// <summary>Forwarding to a replica of the owner shard, with failover to the shard's next replica.</summary>
    public static IServiceCollection AddShardForwarding(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<ReplicaFailover>();
        services.AddSingleton<DataForwarder>();
        services.AddSingleton<AllItemsReader>();
        return services;
    }
}
