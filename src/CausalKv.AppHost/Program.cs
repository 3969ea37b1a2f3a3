using Aspire.Hosting;
using CausalKv.AppHost.Testing;
using Microsoft.Extensions.Configuration;

// CausalKv as an Aspire application: store nodes in shards, and the router that is the one address clients need.
// `dotnet run -- --nodes 6 --shards 3 --spares 2` (the defaults); any CausalKv:AppHost:* setting works as well.
var builder = DistributedApplication.CreateBuilder(args);
var layout = builder.Configuration.GetSection("CausalKv:AppHost");
int Setting(string name, int fallback) => builder.Configuration.GetValue(name, layout.GetValue(name, fallback));

var kv = builder.AddCausalKv("kv", shards: Setting("shards", 3))
    .WithNodes(Setting("nodes", 6))
    .WithSpareNodes(Setting("spares", 2))
    .WithNodeSettings(layout.GetSection("NodeSettings"))
    .WithFaultInjection(); // this repository's AppHost is for trying the store out: Cut, Heal and Kill on the dashboard
// For the tests: nodes that can be cut for real, or run straight from the build output (Testing/).
if (layout.GetValue("RealPartitions", false)) kv.WithNodeLauncher(new RealPartitionNodes(kv.Resource.Nodes + kv.Resource.SpareNodes));
else if (layout.GetValue("NodesFromBuildOutput", false)) kv.WithNodeLauncher(new BuildOutputNodes());
if (layout["DataDirectory"] is { Length: > 0 } data) kv.WithDataDirectory(data);

if (layout.GetValue("Router", true))
{
    var router = builder.AddProject<Projects.CausalKv_Router>("router")
        .WithReference(kv)
        .WithClusterKey(kv)
        .WithRouterEndpoint(layout.GetValue<int?>("RouterPort"));
    // The router reconciles the declared cluster: it installs the views, so it does not wait for the cluster to serve.
    // Without it (--CausalKv:AppHost:Reconcile=false) nothing installs views: the tests that ask for that put them by hand.
    if (layout.GetValue("Reconcile", true)) router.WithClusterDeclaration(kv);
    else router.WaitFor(kv);
}

// A sample service on the store: a comment thread written with CausalKv.Client through its Aspire integration.
if (layout.GetValue("Sample", true))
{
    builder.AddProject<Projects.CausalKv_Samples_Comments>("comments")
        .WithReference(kv)
        .WaitFor(kv)
        .WithHttpEndpoint()
        .WithoutHttpsCertificate() // plain HTTP like every resource here: no development certificate is looked for
        .WithHttpHealthCheck("/health");
}

builder.Build().Run();
