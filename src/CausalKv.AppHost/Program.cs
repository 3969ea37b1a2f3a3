using Aspire.Hosting;
using Microsoft.Extensions.Configuration;

// CausalKv as an Aspire application: store nodes in shards, and the router that is the one address clients need.
// `dotnet run -- --nodes 6 --shards 3 --spares 2` (the defaults); any CausalKv:AppHost:* setting works as well.
var builder = DistributedApplication.CreateBuilder(args);
var layout = builder.Configuration.GetSection("CausalKv:AppHost");
int Setting(string name, int fallback) => builder.Configuration.GetValue(name, layout.GetValue(name, fallback));

var kv = builder.AddCausalKv("kv", shards: Setting("shards", 3))
    .WithNodes(Setting("nodes", 6))
    .WithSpareNodes(Setting("spares", 2))
    .WithNodeSettings(layout.GetSection("NodeSettings"));
if (layout.GetValue("RealPartitions", false)) kv.WithRealPartitions();
else if (layout.GetValue("NodesFromBuildOutput", false)) kv.WithNodesFromBuildOutput();
if (!layout.GetValue("InitialView", true)) kv.WithoutInitialView();
if (layout["DataDirectory"] is { Length: > 0 } data) kv.WithDataDirectory(data);

if (layout.GetValue("Router", true))
{
    builder.AddProject<Projects.CausalKv_Router>("router")
        .WithReference(kv)
        .WithClusterKey(kv)
        .WaitFor(kv)
        .WithRouterEndpoint(layout.GetValue<int?>("RouterPort"));
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
