using System.Reflection;
using Aspire.Hosting;

namespace CausalKv.Hosting;

/// <summary>
/// The project every node resource runs: <c>CausalKv.Node</c>, built together with this integration, so it is run
/// with <c>dotnet run --no-build</c> (building it once per node at every start would race and cost seconds).
/// </summary>
public sealed class CausalKvNodeProject : IProjectMetadata
{
    private static readonly string Path = typeof(CausalKvNodeProject).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "CausalKv.NodeProject")?.Value
        ?? throw new InvalidOperationException("CausalKv.Hosting was built without the path of CausalKv.Node.");

    public string ProjectPath => Path;

    public bool SuppressBuild => true;

    /// <summary>Where <c>CausalKv.Node.dll</c> of a configuration lies (nodes run as their own users start it directly).</summary>
    internal static string AssemblyPath(string configuration) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Path)!, "bin", configuration, "net10.0", "CausalKv.Node.dll");
}
