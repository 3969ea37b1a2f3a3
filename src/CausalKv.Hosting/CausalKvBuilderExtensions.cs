using System.Globalization;
using System.Net;
using Aspire.Hosting.ApplicationModel;
using CausalKv.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Aspire.Hosting;

/// <summary>
/// Adds CausalKv to an Aspire application: <c>builder.AddCausalKv("kv")</c> declares the store nodes (one project
/// resource each), the cluster key (a secret parameter) and the cluster resource that services reference.
/// </summary>
public static class CausalKvBuilderExtensions
{
    private const string NodeEndpoint = "http";

    /// <summary>The port a node or the router listens on in a published deployment (inside its container).</summary>
    internal const int PublishedPort = 8080;

    /// <summary>
    /// Adds a CausalKv cluster: <paramref name="shards"/> shards of <paramref name="replicasPerShard"/> replicas, nodes
    /// named <c>{name}-node{i}</c>. A router made its reconciler (<see cref="WithClusterDeclaration{TDestination}"/>)
    /// installs the declared view; the cluster resource is Running from then on. The cluster key is <paramref name="clusterKey"/>, or a generated secret parameter
    /// <c>{name}-cluster-key</c> kept in the AppHost's user secrets.
    /// </summary>
    public static IResourceBuilder<CausalKvClusterResource> AddCausalKv(this IDistributedApplicationBuilder builder, [ResourceName] string name,
        int shards = 3, int replicasPerShard = 2, IResourceBuilder<ParameterResource>? clusterKey = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var key = clusterKey ?? builder.AddParameter($"{name}-cluster-key",
            new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true, persist: true);
        var cluster = new CausalKvClusterResource(name, key.Resource) { Shards = shards, Nodes = shards * replicasPerShard };
        var resource = builder.AddResource(cluster)
            .WithInitialState(new CustomResourceSnapshot
            {
                ResourceType = "CausalKv",
                State = new ResourceStateSnapshot(KnownResourceStates.Starting, KnownResourceStateStyles.Info),
                Properties = [],
            })
            .WithIconName("DatabaseMultiple")
            .WithReferenceRelationship(key);
        builder.Eventing.Subscribe<BeforeStartEvent>((e, ct) =>
        {
            cluster.Control.Start(e.Services, e.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
            return Task.CompletedTask;
        });
        CausalKvCommands.AddClusterCommands(resource);
        // kv's own health: Unhealthy while a shard of the layout has no running replica (or before the first view),
        // Degraded while one has lost a replica. WaitFor(kv) waits for Healthy.
        var health = $"{name}-replicas";
        builder.Services.AddHealthChecks().AddCheck(health, () => cluster.Control.ReplicaHealth());
        resource.WithHealthCheck(health);
        // Nodes declared again (WithNodeLauncher turns them into executables) registered their health checks again
        // under the same names: the last registration is the one for the resource in the model.
        builder.Services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            var kept = options.Registrations.GroupBy(r => r.Name).Select(g => g.Last()).ToList();
            options.Registrations.Clear();
            foreach (var r in kept) options.Registrations.Add(r);
        });
        Materialize(resource);
        return resource;
    }

    /// <summary>Shards in the first view, keeping the replicas per shard.</summary>
    public static IResourceBuilder<CausalKvClusterResource> WithShards(this IResourceBuilder<CausalKvClusterResource> builder, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        var replicas = Math.Max(1, builder.Resource.Nodes / builder.Resource.Shards);
        builder.Resource.Shards = shards;
        builder.Resource.Nodes = shards * replicas;
        return Materialize(builder);
    }

    public static IResourceBuilder<CausalKvClusterResource> WithReplicasPerShard(this IResourceBuilder<CausalKvClusterResource> builder, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Nodes = builder.Resource.Shards * replicas;
        return Materialize(builder);
    }

    /// <summary>A node count that need not divide evenly: shards get consecutive nodes, the later ones one more.</summary>
    public static IResourceBuilder<CausalKvClusterResource> WithNodes(this IResourceBuilder<CausalKvClusterResource> builder, int nodes)
    {
        if (nodes < builder.Resource.Shards) throw new ArgumentException($"{nodes} nodes cannot fill {builder.Resource.Shards} shards.", nameof(nodes));
        builder.Resource.Nodes = nodes;
        return Materialize(builder);
    }

    /// <summary>Nodes declared but not started, for the dashboard's "Add shard" command.</summary>
    public static IResourceBuilder<CausalKvClusterResource> WithSpareNodes(this IResourceBuilder<CausalKvClusterResource> builder, int spares)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spares);
        builder.Resource.SpareNodes = spares;
        return Materialize(builder);
    }

    /// <summary>Keeps every node's write-ahead log in <paramref name="path"/>/&lt;node&gt; (created when missing).</summary>
    public static IResourceBuilder<CausalKvClusterResource> WithDataDirectory(this IResourceBuilder<CausalKvClusterResource> builder, string path)
    {
        builder.Resource.DataDirectory = Path.GetFullPath(path, builder.ApplicationBuilder.AppHostDirectory);
        return builder;
    }

    /// <summary>A <c>CausalKv:*</c> setting for every node, e.g. <c>("CausalWaitDeadline", "00:00:20")</c>.</summary>
    public static IResourceBuilder<CausalKvClusterResource> WithNodeSetting(this IResourceBuilder<CausalKvClusterResource> builder, string name, string value)
    {
        builder.Resource.NodeSettings[name] = value;
        return builder;
    }

    /// <summary>
    /// Runs the nodes with <paramref name="launcher"/> instead of as project resources (which DCP starts with
    /// <c>dotnet run</c>); the nodes declared so far are declared again.
    /// </summary>
    public static IResourceBuilder<CausalKvClusterResource> WithNodeLauncher(this IResourceBuilder<CausalKvClusterResource> builder, ICausalKvNodeLauncher launcher)
    {
        ArgumentNullException.ThrowIfNull(launcher);
        builder.Resource.NodeLauncher = launcher;
        return Materialize(builder, redeclare: true);
    }

    /// <summary>
    /// Gives <paramref name="builder"/> the cluster: its connection string (<c>ConnectionStrings__{name}</c>) and a
    /// service-discovery entry per node (<c>services__{node}__http__0</c>), as <c>WithReference</c> of each node would.
    /// </summary>
    public static IResourceBuilder<TDestination> WithReference<TDestination>(this IResourceBuilder<TDestination> builder,
        IResourceBuilder<CausalKvClusterResource> cluster, string? connectionName = null)
        where TDestination : IResourceWithEnvironment
    {
        var kv = cluster.Resource;
        builder.WithReference((IResourceBuilder<IResourceWithConnectionString>)cluster, connectionName);
        // For services in other languages, next to the connection string: the nodes' URLs, and the router's when one
        // reconciles the cluster (KV_ENDPOINTS, KV_URI for a cluster named kv).
        var prefix = new string([.. (connectionName ?? kv.Name).ToUpperInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);
        builder.WithEnvironment(context =>
        {
            context.EnvironmentVariables[prefix + "_ENDPOINTS"] = kv.EndpointsExpression;
            if (kv.Reconciler is { } router && !ReferenceEquals(router, builder.Resource))
                context.EnvironmentVariables[prefix + "_URI"] = router.GetEndpoint(NodeEndpoint);
        });
        builder.WithEnvironment(context =>
        {
            foreach (var node in kv.AllNodes)
                context.EnvironmentVariables[$"services__{node.Name}__{NodeEndpoint}__0"] = node.Resource.GetEndpoint(NodeEndpoint);
        });
        return builder;
    }

    /// <summary>
    /// Makes <paramref name="builder"/> (the router) the cluster's reconciler: it gets the declared cluster as
    /// <c>CausalKv__Cluster__*</c> (the generation and the layout by node name; the addresses come from the
    /// <c>services__{node}__http__0</c> entries of <c>WithReference(cluster)</c>) and installs the first view, resends it
    /// to nodes that restart without it and applies Add shard / Remove shard. The router must not wait for the cluster:
    /// the cluster serves only once the router has installed its view.
    /// </summary>
    public static IResourceBuilder<TDestination> WithClusterDeclaration<TDestination>(this IResourceBuilder<TDestination> builder,
        IResourceBuilder<CausalKvClusterResource> cluster)
        where TDestination : IResourceWithEnvironment, IResourceWithEndpoints
    {
        var kv = cluster.Resource;
        kv.Reconciler = builder.Resource;
        builder.WithEnvironment(context =>
        {
            // Evaluated at every start: a router started again gets the declaration in force, not the first one.
            var layout = kv.Control.Layout.Count > 0 ? kv.Control.Layout : ClusterLayout.Initial(kv.Nodes, kv.Shards);
            context.EnvironmentVariables["CausalKv__Cluster__Generation"] = kv.Control.Generation.ToString(CultureInfo.InvariantCulture);
            foreach (var (shard, ids) in layout)
                for (var i = 0; i < ids.Length; i++)
                    context.EnvironmentVariables[$"CausalKv__Cluster__Layout__{shard}__{i}"] = kv.Node(ids[i]).Name;
            // Run here: each node's own host:port (its fixed port on its loopback address), spares included. Published:
            // none, so the router finds each member by its service-discovery entry, a name the deployment resolves.
            if (!context.ExecutionContext.IsPublishMode)
                foreach (var node in kv.AllNodes)
                    context.EnvironmentVariables[$"CausalKv__Cluster__Addresses__{node.Name}"] = node.Address;
        });
        return builder;
    }

    /// <summary>
    /// Lets the nodes accept fault injection (<c>CausalKv__EnableFaultInjection</c>) and shows the dashboard's Cut from
    /// peers, Heal links and Kill commands. Off by default: a node shipped without it refuses <c>PUT /admin/faults</c>.
    /// Never in a published manifest.
    /// </summary>
    public static IResourceBuilder<CausalKvClusterResource> WithFaultInjection(this IResourceBuilder<CausalKvClusterResource> builder)
    {
        builder.Resource.FaultInjection = !builder.ApplicationBuilder.ExecutionContext.IsPublishMode;
        return builder;
    }

    /// <summary>Gives a resource that changes views (the router) the cluster key, as <c>CausalKv__ClusterKey</c>.</summary>
    public static IResourceBuilder<TDestination> WithClusterKey<TDestination>(this IResourceBuilder<TDestination> builder,
        IResourceBuilder<CausalKvClusterResource> cluster)
        where TDestination : IResourceWithEnvironment =>
        builder.WithEnvironment("CausalKv__ClusterKey", cluster.Resource.ClusterKeyParameter);

    /// <summary>
    /// Brings the declared node resources in line with the cluster's settings: adds missing nodes, drops extra ones
    /// (with the helper resources Aspire added for them), and marks the ones beyond the first layout as spares
    /// (started on demand). A node launcher given later redeclares every node, as its executables.
    /// </summary>
    private static IResourceBuilder<CausalKvClusterResource> Materialize(IResourceBuilder<CausalKvClusterResource> builder, bool redeclare = false)
    {
        var app = builder.ApplicationBuilder;
        var kv = builder.Resource;
        var total = kv.Nodes + kv.SpareNodes;
        var nodes = kv.AllNodes.ToList();
        foreach (var extra in nodes.Where(n => redeclare || n.Id >= total).ToList())
        {
            foreach (var r in app.Resources.Where(r => r == extra.Resource || r.Name.StartsWith(extra.Name + "-", StringComparison.OrdinalIgnoreCase)).ToList())
                app.Resources.Remove(r);
            nodes.Remove(extra);
        }
        var publishing = app.ExecutionContext.IsPublishMode;
        for (var id = nodes.Count; id < total; id++)
        {
            // Published, a node is known by its name at the port it listens on inside its container; run here, by a
            // fixed port on a loopback address.
            var host = publishing ? $"{kv.Name}-node{id}" : kv.NodeLauncher?.HostOf(id) ?? "127.0.0.1";
            var port = publishing ? PublishedPort : LoopbackPorts.Free(IPAddress.Parse(host));
            nodes.Add(new CausalKvNode(id, AddNode(app, kv, id, host, port), host, port));
        }
        foreach (var node in nodes)
        {
            node.IsSpare = node.Id >= kv.Nodes;
            var explicitStart = node.Resource.Annotations.OfType<ExplicitStartupAnnotation>().ToList();
            if (node.IsSpare && explicitStart.Count == 0) node.Resource.Annotations.Add(new ExplicitStartupAnnotation());
            if (!node.IsSpare) foreach (var a in explicitStart) node.Resource.Annotations.Remove(a);
        }
        kv.SetNodes(nodes);
        return builder;
    }

    private static IResourceWithEndpoints AddNode(IDistributedApplicationBuilder app, CausalKvClusterResource kv, int id, string host, int port)
    {
        var name = $"{kv.Name}-node{id}";
        if (kv.NodeLauncher is null || app.ExecutionContext.IsPublishMode)
            return CausalKvNodeProject.ShippedAssembly is { } shipped // a packed integration runs the node it ships
                ? Configure(CausalKvServers.AddExecutable(app, name, shipped, () => CausalKvServers.ListenUrl(app, host, port)), kv, id, host, port)
                : Configure(app.AddProject<CausalKvNodeProject>(name), kv, id, host, port);
        var executable = kv.NodeLauncher.Declare(app, kv, name, id)
            .WithEnvironment("ASPNETCORE_URLS", "http://" + host + ":" + port.ToString(CultureInfo.InvariantCulture))
            .WithOtlpExporter();
        return Configure(executable, kv, id, host, port);
    }

    private static T Configure<T>(IResourceBuilder<T> node, CausalKvClusterResource kv, int id, string host, int port)
        where T : IResourceWithEndpoints, IResourceWithEnvironment, IResourceWithWaitSupport, IResourceWithArgs
    {
        if (node.ApplicationBuilder.ExecutionContext.IsPublishMode) node.WithHttpEndpoint(targetPort: port, name: NodeEndpoint);
        else node.WithHttpEndpoint(port: port, targetPort: port, name: NodeEndpoint, isProxied: false).WithEndpoint(NodeEndpoint, e => e.TargetHost = host);
        node.WithEnvironment("NODE_IDENTIFIER", id.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("CausalKv__ClusterKey", kv.ClusterKeyParameter)
            .WithEnvironment(context =>
            {
                if (kv.FaultInjection) context.EnvironmentVariables["CausalKv__EnableFaultInjection"] = "true";
                // Published, a node keeps its data where the deployment mounts it (CausalKv__DataDirectory set there), or in
                // the folder WithDataDirectory named; never in a temporary folder of the machine that wrote the manifest.
                if (context.ExecutionContext.IsPublishMode && kv.DataDirectory is null) { AddSettings(); return; }
                context.EnvironmentVariables["CausalKv__DataDirectory"] = kv.Control.DataDirectoryOf(node.Resource.Name);
                AddSettings();

                void AddSettings()
                {
                    foreach (var (setting, value) in kv.NodeSettings)
                        context.EnvironmentVariables["CausalKv__" + setting.Replace(":", "__", StringComparison.Ordinal)] = value;
                }
            })
            .WithHttpHealthCheck("/health", endpointName: NodeEndpoint)
            .WithoutTelemetryWithoutDashboard()
            .WithoutHttpsCertificate() // plain HTTP on loopback: no development certificate to ask for
            .WithParentRelationship(kv)
            .WithIconName("Database");
        CausalKvCommands.AddNodeCommands(node, kv, id);
        return node.Resource;
    }

    /// <summary>
    /// With the dashboard off (Aspire.Hosting.Testing's default) Aspire still points the OTLP exporter at a default
    /// endpoint nobody listens on, so every request would be traced for nothing. Without that endpoint the services
    /// switch their telemetry off (<c>OTEL_SDK_DISABLED</c>). An endpoint the AppHost was given explicitly (another OTLP backend) is kept.
    /// </summary>
    internal static IResourceBuilder<T> WithoutTelemetryWithoutDashboard<T>(this IResourceBuilder<T> builder) where T : IResourceWithEnvironment =>
        builder.WithEnvironment(context =>
        {
            IServiceProvider services;
            try { services = context.ExecutionContext.Services; }
            catch (InvalidOperationException) { return; } // the model read outside a run (tools, tests): nothing to switch off
            var options = services.GetService<DistributedApplicationOptions>();
            var configured = services.GetService<Microsoft.Extensions.Configuration.IConfiguration>()?["OTEL_EXPORTER_OTLP_ENDPOINT"];
            if (options is { DisableDashboard: true } && string.IsNullOrEmpty(configured))
            {
                context.EnvironmentVariables.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
                context.EnvironmentVariables["OTEL_SDK_DISABLED"] = "true";
            }
        });
}
