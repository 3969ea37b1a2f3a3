using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace CausalKv.Hosting;

/// <summary>
/// How a cluster's node processes are run when not as project resources (<c>dotnet run</c> of CausalKv.Node): e.g. a
/// published node folder run with <c>dotnet</c>, or under another user. The integration still gives each node its
/// endpoint, settings, health check, commands and place in the cluster; the launcher only says where the node listens
/// and what runs it.
/// </summary>
public interface ICausalKvNodeLauncher
{
    /// <summary>The host node <paramref name="id"/> listens on and is known by in views (run here: a loopback address).</summary>
    string HostOf(int id);

    /// <summary>
    /// Declares the executable that runs node <paramref name="id"/> as resource <paramref name="name"/>; the integration
    /// then tells it to listen on <c>http://host:port</c> (<c>ASPNETCORE_URLS</c>).
    /// </summary>
    IResourceBuilder<ExecutableResource> Declare(IDistributedApplicationBuilder app, CausalKvClusterResource cluster, string name, int id);
}
