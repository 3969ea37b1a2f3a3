using System.Diagnostics;
using k8s;
using k8s.Models;

namespace CausalKv.Tests.Deployment;

/// <summary>
/// The Kubernetes deployment as the cluster would receive it: <c>kubectl kustomize</c> renders a kustomization of
/// <c>deploy/kubernetes</c> offline, and every object is read with the official models, an unknown field being an error.
/// </summary>
public sealed class RenderedDeployment
{
    private RenderedDeployment(string yaml, IReadOnlyList<object> objects)
    {
        Yaml = yaml;
        Objects = objects;
    }

    public string Yaml { get; }

    public IReadOnlyList<object> Objects { get; }

    public static string RepositoryRoot { get; } = FindRoot();

    public static string Kustomization(string relative) => Path.Combine(RepositoryRoot, "deploy", "kubernetes", relative);

    public static async Task<RenderedDeployment> RenderAsync(string relative)
    {
        var yaml = await KustomizeAsync(Kustomization(relative));
        return new RenderedDeployment(yaml, KubernetesYaml.LoadAllFromString(yaml, typeMap: null, strict: true));
    }

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    public T Single<T>(string name) where T : IMetadata<V1ObjectMeta> =>
        Objects.OfType<T>().SingleOrDefault(o => o.Metadata.Name == name)
        ?? throw new Xunit.Sdk.XunitException($"the rendered deployment has no {typeof(T).Name} named {name}");

    /// <summary>Runs <c>kubectl kustomize</c>; kubectl ships kustomize and needs no API server for this.</summary>
    public static async Task<string> KustomizeAsync(string directory)
    {
        var start = new ProcessStartInfo("kubectl", ["kustomize", directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("kubectl did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0) throw new InvalidOperationException($"kubectl kustomize {directory} failed ({process.ExitCode}): {await error}");
        return await output;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CausalKv.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no CausalKv.sln above {AppContext.BaseDirectory}");
    }
}
