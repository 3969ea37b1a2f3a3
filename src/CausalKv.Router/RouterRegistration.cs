using CausalKv.Http;
using CausalKv.Causality;
using CausalKv.Router.Discovery;
using CausalKv.Router.Health;
using CausalKv.Router.Reconciliation;
using CausalKv.Router.Routing;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;

namespace CausalKv.Router;

/// <summary>The router's parts, one registration per concept, in the order Program.cs reads them.</summary>
internal static class RouterRegistration
{
    /// <summary>
    /// With no OTLP endpoint nothing the OpenTelemetry SDK records leaves the process, yet recording a span for every
    /// request in, every request out and every route costs the router about a fifth of its CPU per forwarded request
    /// (measured with wrk, GET at 16 connections: 108 against 83 µs). So without an exporter the SDK is switched off
    /// (OTEL_SDK_DISABLED, unless configured either way); trace context still passes through, from the request's
    /// own activity. An explicit OTEL_SDK_DISABLED wins.
    /// </summary>
    public static WebApplicationBuilder DisableTelemetryWithoutExporter(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) && builder.Configuration["OTEL_SDK_DISABLED"] is null)
        {
            builder.Configuration.AddInMemoryCollection([new("OTEL_SDK_DISABLED", "true")]);
        }
        return builder;
    }

    /// <summary>
    /// With <see cref="RouterOptions.InlineIo"/> (the default) a forwarded request runs from socket event to socket
    /// event without thread-pool hand-offs: each hand-off is a wake-up, and on two cores shared with the nodes wake-ups
    /// are what forwarding mostly costs. Measured with wrk (GET, 16 connections, paired 5 s runs, medians): 15% more
    /// requests per second than Kestrel's inline scheduling alone, about 20-30% more than neither. The socket setting
    /// is an environment variable the runtime reads when the first socket is made, so it is set here, before that.
    /// Nothing on the request path may block: handlers are asynchronous and CPU-heavy work (the GET /data merge)
    /// goes to the thread pool.
    /// </summary>
    public static WebApplicationBuilder UseInlineIo(this WebApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue(RouterOptions.Section + ":" + nameof(RouterOptions.InlineIo), true)) return builder;
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        return builder;
    }

    /// <summary><see cref="RouterOptions"/> (validated at start), the cluster's metadata codec and the router's telemetry (refusals counted too).</summary>
    public static WebApplicationBuilder AddRouterOptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RouterOptions>()
            .Bind(builder.Configuration.GetSection(RouterOptions.SharedSection))
            .Bind(builder.Configuration.GetSection(RouterOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.TimingsArePositive(), "CausalKv:Router: every interval, timeout, penalty and deadline must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<RouterOptions>>().Value;
            return CausalMetadataCodec.ForCluster(o.ClusterKey, o.SignMetadata);
        });
        builder.Services.AddSingleton<RouterTelemetry>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new RefusalAccounting(RouterTelemetry.Name, sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<ILogger<RefusalAccounting>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<NodeTransport>();
        return builder;
    }

    /// <summary>Learning the view from the nodes, installing one on all of them, and <c>/health</c> ready only with a view to route by.</summary>
    public static IServiceCollection AddViewDiscovery(this IServiceCollection services)
    {
        services.AddSingleton<ViewTracker>();
        services.AddSingleton<ViewPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<ViewPoller>());
        services.AddSingleton<ViewBroadcaster>();
        services.AddHealthChecks().AddCheck<RouterViewHealthCheck>("view");
        return services;
    }

    /// <summary>
    /// The declared cluster (<c>CausalKv:Cluster</c>, validated at start) and, when one is declared, the reconciler that
    /// makes the running view match it.
    /// </summary>
    public static WebApplicationBuilder AddClusterReconciler(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeclarationOptions>()
            .Bind(builder.Configuration.GetSection(DeclarationOptions.Section))
            .PostConfigure(o => o.ReadMemberList(builder.Configuration))
            .Validate(o => !o.IsDeclared || o.TryBuild(out _, out _), "CausalKv:Cluster: the declared cluster is not valid (see the members, shards, replicas and generation).")
            .Validate(o => o.ReconcileInterval > TimeSpan.Zero && o.Port is > 0 and < 65536, "CausalKv:Cluster: ReconcileInterval must be positive and Port 1-65535.")
            .ValidateOnStart();
        builder.Services.AddSingleton<MemberAddresses>();
        var declared = new DeclarationOptions();
        builder.Configuration.GetSection(DeclarationOptions.Section).Bind(declared);
        declared.ReadMemberList(builder.Configuration);
        if (declared.IsDeclared)
        {
            builder.Services.AddSingleton<ClusterReconciler>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterReconciler>());
        }
        return builder;
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
        services.AddSingleton<PagedItemsReader>();
        return services;
    }
}
