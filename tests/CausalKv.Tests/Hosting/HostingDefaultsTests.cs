using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

// The evaluator the obsolete message points to is internal to the AppHost's run; this reads the model as it stands.
#pragma warning disable CS0618

namespace CausalKv.Tests.Hosting;

/// <summary>What the packaged hosting integration gives a cluster nobody configured further, read from the model.</summary>
public sealed class HostingDefaultsTests
{
    [Fact]
    public async Task Fault_injection_is_off_unless_asked_for_and_services_get_the_endpoints_and_the_router_uri()
    {
        var (kv, router, service, app) = Model(faults: false);
        using (app)
        {
            var node = await ((IResourceWithEnvironment)kv.Resource.Node(0).Resource).GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run);
            Assert.False(node.ContainsKey("CausalKv__EnableFaultInjection"));
            Assert.False(kv.Resource.FaultInjection);

            var api = await service.Resource.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run);
            Assert.Equal($"http://127.0.0.1:{kv.Resource.Node(0).Port}", api["KV_ENDPOINTS"]);
            Assert.StartsWith("http://", api["KV_URI"]);
            var declared = await router.Resource.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run);
            Assert.Equal("kv-node0", declared["CausalKv__Cluster__Layout__shard0__0"]);
            Assert.Equal(kv.Resource.Node(0).Address, declared["CausalKv__Cluster__Addresses__kv-node0"]);
        }
        var (withFaults, _, _, app2) = Model(faults: true);
        using (app2)
        {
            Assert.True(withFaults.Resource.FaultInjection);
            var node = await ((IResourceWithEnvironment)withFaults.Resource.Node(0).Resource).GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run);
            Assert.Equal("true", node["CausalKv__EnableFaultInjection"]);
        }
    }

    private static (IResourceBuilder<CausalKvClusterResource> Kv, IResourceBuilder<ExecutableResource> Router, IResourceBuilder<ExecutableResource> Service, DistributedApplication App) Model(bool faults)
    {
        var builder = DistributedApplication.CreateBuilder(["--Parameters:kv-cluster-key=0123456789abcdef0123456789abcdef"]);
        var kv = builder.AddCausalKv("kv", shards: 1, replicasPerShard: 1);
        if (faults) kv.WithFaultInjection();
        var router = builder.AddExecutable("router", "true", ".").WithRouterEndpoint().WithReference(kv).WithClusterDeclaration(kv);
        var service = builder.AddExecutable("api", "true", ".").WithReference(kv);
        var app = builder.Build(); // gives the model's callbacks their services; the app is never started
        // As DCP would: every endpoint gets its address (the nodes' and the router's are fixed ports on loopback).
        foreach (var resource in builder.Resources.OfType<IResourceWithEndpoints>())
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>())
                endpoint.AllocatedEndpoint = new AllocatedEndpoint(endpoint, "127.0.0.1", endpoint.Port ?? 1);
        return (kv, router, service, app);
    }
}
