using System.Net;
using CausalKv.Tests.Deployment;
using k8s.Models;

namespace CausalKv.Tests.ManyHosts;

/// <summary>
/// The Kubernetes deployment (deploy/kubernetes) run on hosts of a <see cref="HostNetwork"/>: one host per pod, named
/// as the pod (<c>kv-0</c>, answering to <c>kv-0.kv-nodes</c> too, and <c>kv-router-0</c>), each service started with
/// exactly the environment the rendered manifests give its pod, and each node's volume a directory of the test.
/// </summary>
public sealed class PodCluster : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("causalkv-pods-").FullName;
    private readonly Dictionary<string, HostProcess> _running = new(StringComparer.Ordinal);

    private PodCluster(RenderedDeployment deployment, HostNetwork network, int nodes, int routers)
    {
        Deployment = deployment;
        Network = network;
        NodeCount = nodes;
        RouterCount = routers;
    }

    public RenderedDeployment Deployment { get; }

    public HostNetwork Network { get; }

    public int NodeCount { get; }

    public int RouterCount { get; }

    public V1StatefulSet Nodes => Deployment.Single<V1StatefulSet>("kv");

    public string NodeService => Nodes.Spec.ServiceName;

    public static string NodeName(int ordinal) => $"kv-{ordinal}";

    public static string RouterName(int i) => $"kv-router-{i}";

    /// <param name="spareNodes">hosts beyond the StatefulSet's replicas, for a scale-out (their pods start later)</param>
    public static async Task<PodCluster> CreateAsync(string kustomization = "base", int spareNodes = 0)
    {
        var deployment = await RenderedDeployment.RenderAsync(kustomization);
        var set = deployment.Single<V1StatefulSet>("kv");
        var nodes = set.Spec.Replicas!.Value + spareNodes;
        var routers = deployment.Single<V1Deployment>("kv-router").Spec.Replicas!.Value;
        var hosts = Enumerable.Range(0, nodes).Select(i => (NodeName(i), new[] { $"{NodeName(i)}.{set.Spec.ServiceName}" }))
            .Concat(Enumerable.Range(0, routers).Select(i => (RouterName(i), Array.Empty<string>())));
        var network = await HostNetwork.CreateAsync(hosts);
        return new PodCluster(deployment, network, nodes, routers);
    }

    public int Port(string host) =>
        int.Parse(Environment(host)["ASPNETCORE_HTTP_PORTS"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The base address the test reaches a pod at (its host's address: the test does not resolve pod names).</summary>
    public Uri Address(string host) => new($"http://{Network[host].Address}:{Port(host)}");

    public HttpClient Client(string host, TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3) })
        {
            BaseAddress = Address(host),
            Timeout = timeout ?? TimeSpan.FromSeconds(60),
        };

    public Dictionary<string, string> Environment(string host, RenderedDeployment? deployment = null)
    {
        var d = deployment ?? Deployment;
        if (host.StartsWith("kv-router-", StringComparison.Ordinal)) return KubernetesManifestTests.RouterEnvironment(d);
        var ordinal = int.Parse(host["kv-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return KubernetesManifestTests.NodeEnvironment(d, d.Single<V1StatefulSet>("kv"), ordinal);
    }

    /// <summary>Starts the pod on <paramref name="host"/> (again, after a kill: same volume), with the environment of <paramref name="deployment"/>.</summary>
    public HostProcess Start(string host, RenderedDeployment? deployment = null) => StartWith(host, Environment(host, deployment));

    /// <summary>Starts the pod on <paramref name="host"/> with <paramref name="environment"/> (a pod spec changed by hand).</summary>
    public HostProcess StartWith(string host, IReadOnlyDictionary<string, string> environment)
    {
        var router = host.StartsWith("kv-router-", StringComparison.Ordinal);
        var dll = ServiceDll(router ? "CausalKv.Router" : "CausalKv.Node");
        Dictionary<string, string>? volumes = null;
        if (!router)
        {
            var container = Nodes.Spec.Template.Spec.Containers.Single();
            var mount = container.VolumeMounts.Single();
            var source = Path.Combine(_root, host);
            Directory.CreateDirectory(source);
            volumes = new() { [mount.MountPath] = source };
        }
        var process = Network.Start(host, dll, environment, volumes);
        lock (_running) _running[host] = process;
        return process;
    }

    public async Task KillAsync(string host)
    {
        HostProcess? p;
        lock (_running) _running.Remove(host, out p);
        if (p is not null) await p.DisposeAsync();
    }

    /// <summary>A new empty disk for <paramref name="host"/> (a pod whose volume was lost).</summary>
    public void WipeVolume(string host)
    {
        var dir = Path.Combine(_root, host);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    public void StartAll()
    {
        foreach (var i in Enumerable.Range(0, Nodes.Spec.Replicas!.Value)) Start(NodeName(i));
        foreach (var i in Enumerable.Range(0, RouterCount)) Start(RouterName(i));
    }

    /// <summary>What the services printed, for a failure's message.</summary>
    public string Logs(int lastLines = 30)
    {
        lock (_running)
            return string.Join("\n", _running.Select(kv =>
                $"--- {kv.Key}{(kv.Value.HasExited ? " (exited)" : "")}:\n" + string.Join("\n", kv.Value.Output.Split('\n').TakeLast(lastLines))));
    }

    public async ValueTask DisposeAsync()
    {
        await Network.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static string ServiceDll(string project)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name; // bin/<configuration>/net10.0
        var dll = Path.Combine(RenderedDeployment.RepositoryRoot, "src", project, "bin", configuration, "net10.0", project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{project} is not built ({dll})");
    }

    public static async Task<bool> AnswersAsync(HttpClient client, string path, HttpStatusCode status)
    {
        try
        {
            using var answer = await client.GetAsync(path);
            return answer.StatusCode == status;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return false; }
    }
}
