using System.Net;
using Aspire.Hosting.ApplicationModel;
using CausalKv.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aspire.Hosting;

/// <summary>What the CausalKv router resource needs from the AppHost beyond its references.</summary>
public static class CausalKvRouterExtensions
{
    /// <summary>
    /// Adds the CausalKv router in front of <paramref name="cluster"/>, as its reconciler: it gets the cluster's
    /// references, key and declaration, and an HTTP endpoint on <paramref name="port"/> (a free port unless given).
    /// It runs the router this package ships (<c>dotnet CausalKv.Router.dll</c>, copied next to the AppHost), so an
    /// AppHost needs no checkout of CausalKv: <c>builder.AddCausalKvRouter("router", builder.AddCausalKv("kv"))</c>.
    /// </summary>
    public static IResourceBuilder<ExecutableResource> AddCausalKvRouter(this IDistributedApplicationBuilder builder, [ResourceName] string name,
        IResourceBuilder<CausalKvClusterResource> cluster, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(cluster);
        IResourceBuilder<ExecutableResource>? router = null;
        router = CausalKvServers.AddExecutable(builder, name, CausalKvServers.Assembly(CausalKvServers.Router), () =>
            builder.ExecutionContext.IsPublishMode
                ? CausalKvServers.ListenUrl(builder, "+", CausalKvBuilderExtensions.PublishedPort)
                : router!.Resource.GetEndpoint("http"));
        return router
            .WithReference(cluster)
            .WithClusterKey(cluster)
            .WithRouterEndpoint(port)
            .WithClusterDeclaration(cluster);
    }

    /// <summary>
    /// The router's HTTP endpoint (no proxy in between: it is the hot path; a free port unless one is given), its
    /// health check, a "Cluster" link to the page it serves, and a <c>Router: url</c> line in the AppHost's log once
    /// it is healthy.
    /// </summary>
    public static IResourceBuilder<T> WithRouterEndpoint<T>(this IResourceBuilder<T> builder, int? port = null)
        where T : IResourceWithEndpoints, IResourceWithEnvironment, IResourceWithArgs
    {
        if (builder.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            // No loopback port in a manifest: the deployment maps the router's port.
            builder.WithHttpEndpoint(port: port, targetPort: CausalKvBuilderExtensions.PublishedPort, name: "http");
        }
        else
        {
            var fixedPort = port ?? LoopbackPorts.Free(IPAddress.Loopback);
            builder.WithHttpEndpoint(port: fixedPort, targetPort: fixedPort, name: "http", isProxied: false);
        }
        builder.WithHttpHealthCheck("/health", endpointName: "http")
            .WithoutTelemetryWithoutDashboard()
            .WithoutHttpsCertificate()
            .WithUrls(context =>
            {
                foreach (var url in context.Urls.Where(u => u.Endpoint?.EndpointName == "http")) url.DisplayText = "Data API";
                if (context.Urls.FirstOrDefault(u => u.Endpoint?.EndpointName == "http") is { } api)
                    context.Urls.Add(new ResourceUrlAnnotation { Url = api.Url.TrimEnd('/') + "/cluster", DisplayText = "Cluster" });
            })
            .OnResourceReady((resource, e, ct) =>
            {
                var url = resource.GetEndpoint("http").Url;
                e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("CausalKv.Hosting")
                    .LogInformation("Router: {Url} (cluster page: {Url}/cluster)", url, url);
                return Task.CompletedTask;
            });
        return builder;
    }

    /// <summary>Every setting of a configuration section (e.g. <c>CausalKv:AppHost:NodeSettings</c>) for every node.</summary>
    public static IResourceBuilder<CausalKvClusterResource> WithNodeSettings(this IResourceBuilder<CausalKvClusterResource> builder, IConfiguration section)
    {
        foreach (var setting in section.AsEnumerable(makePathsRelative: true))
            if (setting.Value is not null) builder.WithNodeSetting(setting.Key, setting.Value);
        return builder;
    }

}
