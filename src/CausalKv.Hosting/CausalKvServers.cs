using System.Globalization;
using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace CausalKv.Hosting;

/// <summary>
/// Where the node and the router an AppHost starts come from. Packed, the integration ships both, published
/// framework-dependent, and its build file copies them next to the AppHost (<c>causalkv/node</c>,
/// <c>causalkv/router</c>): they run as executables, <c>dotnet CausalKv.Node.dll</c>, with no checkout of this
/// repository. Built in this repository, the integration knows the projects' paths instead (assembly metadata the
/// package leaves out) and runs them as project resources.
/// </summary>
internal static class CausalKvServers
{
    internal const string Node = "Node";
    internal const string Router = "Router";

    /// <summary>The shipped <c>CausalKv.{server}.dll</c> next to the AppHost (or next to this assembly); null when absent.</summary>
    internal static string? Shipped(string server)
    {
        var relative = Path.Combine("causalkv", server.ToLowerInvariant(), $"CausalKv.{server}.dll");
        string?[] roots = [AppContext.BaseDirectory, Path.GetDirectoryName(typeof(CausalKvServers).Assembly.Location)];
        return roots.Where(r => !string.IsNullOrEmpty(r)).Select(r => Path.Combine(r!, relative)).FirstOrDefault(File.Exists);
    }

    /// <summary>The path of <c>CausalKv.{server}.csproj</c> in the repository this integration was built in.</summary>
    internal static string ProjectPath(string server) =>
        typeof(CausalKvServers).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == $"CausalKv.{server}Project")?.Value
        ?? throw new InvalidOperationException(
            $"CausalKv.{server} was not found next to the AppHost (causalkv/{server.ToLowerInvariant()}); a packed CausalKv.Hosting " +
            "copies it there at build time, and an integration built in the repository knows the project's path.");

    /// <summary>The build output of the repository's project in a configuration.</summary>
    internal static string BuildOutput(string server, string configuration) =>
        Path.Combine(Path.GetDirectoryName(ProjectPath(server))!, "bin", configuration, "net10.0", $"CausalKv.{server}.dll");

    /// <summary>The shipped server, else the repository's build output in the configuration this integration was built in.</summary>
    internal static string Assembly(string server) => Shipped(server) ?? BuildOutput(server, Configuration);

    /// <summary>
    /// <c>dotnet &lt;dll&gt;</c> as an executable resource listening on <paramref name="url"/> (what a project
    /// resource gets from its endpoints), with the OTLP settings a project resource gets.
    /// </summary>
    internal static IResourceBuilder<ExecutableResource> AddExecutable(IDistributedApplicationBuilder app, string name, string dll, Func<object> url) =>
        app.AddExecutable(name, "dotnet", Path.GetDirectoryName(dll)!, dll)
            .WithEnvironment(context => context.EnvironmentVariables["ASPNETCORE_URLS"] = url())
            .WithOtlpExporter();

    /// <summary>A URL to listen on: <paramref name="host"/>:<paramref name="port"/> run here, any address in a deployment.</summary>
    internal static string ListenUrl(IDistributedApplicationBuilder app, string host, int port) =>
        "http://" + (app.ExecutionContext.IsPublishMode ? "+" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    private static string Configuration =>
#if DEBUG
        "Debug";
#else
        "Release";
#endif
}
