using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using CausalKv.Hosting;

namespace CausalKv.AppHost.Testing;

/// <summary>
/// Runs each node straight from CausalKv.Node's build output (<c>dotnet CausalKv.Node.dll</c>) instead of as a project
/// resource, which DCP starts with <c>dotnet run</c>: about 1.5 s of CPU less per node start, for test suites that start
/// many clusters on few cores (<c>--CausalKv:AppHost:NodesFromBuildOutput=true</c>). The node itself is the same.
/// </summary>
internal sealed class BuildOutputNodes : ICausalKvNodeLauncher
{
    public string HostOf(int id) => "127.0.0.1";

    public IResourceBuilder<ExecutableResource> Declare(IDistributedApplicationBuilder app, CausalKvClusterResource cluster, string name, int id)
    {
        var dll = NodeBuildOutput.AssemblyPath;
        return app.AddExecutable(name, "dotnet", Path.GetDirectoryName(dll)!, dll);
    }
}
