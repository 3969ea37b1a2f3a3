using Aspire.Hosting;

namespace CausalKv.Hosting;

/// <summary>
/// The project every node resource runs when the AppHost is built in this repository: <c>CausalKv.Node</c>, built
/// together with this integration, so it is run with <c>dotnet run --no-build</c> (building it once per node at every
/// start would race and cost seconds). A packed integration runs the node it ships instead (<see cref="CausalKvServers"/>).
/// </summary>
public sealed class CausalKvNodeProject : IProjectMetadata
{
    public string ProjectPath => CausalKvServers.ProjectPath(CausalKvServers.Node);

    public bool SuppressBuild => true;

    /// <summary>The node the package shipped, next to the AppHost; null when the AppHost is built in this repository.</summary>
    internal static string? ShippedAssembly => CausalKvServers.Shipped(CausalKvServers.Node);

    /// <summary>Where <c>CausalKv.Node.dll</c> of a configuration lies (nodes run as their own users start it directly).</summary>
    internal static string AssemblyPath(string configuration) =>
        ShippedAssembly ?? CausalKvServers.BuildOutput(CausalKvServers.Node, configuration);
}
