using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using CausalKv.AppHost.Testing;
using CausalKv.Hosting;
using CausalKv.Node.Configuration;
using CausalKv.Tests.Distributed.Support;
using Microsoft.Extensions.DependencyInjection;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// A CausalKv AppHost started through Aspire.Hosting.Testing (<c>DistributedApplicationTestingBuilder</c>), with the
/// cluster's control at hand: tests name nodes <c>node{i}</c> and the router <c>router</c>. Unless the router
/// reconciles the cluster (<see cref="Builder.Reconciled"/>), views are put by hand (<see cref="ViewInstaller"/>); with
/// real partitions, cuts drop packets (<see cref="PacketFilter"/>).
/// </summary>
public sealed class KvApp : IAsyncDisposable
{
    public const string ClusterName = "kv";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly ViewInstaller? _views;
    private readonly PacketFilter? _filter;

    private KvApp(DistributedApplication app, CausalKvClusterResource cluster, bool router, ViewInstaller? views, PacketFilter? filter)
    {
        App = app;
        Cluster = cluster;
        HasRouter = router;
        _views = views;
        _filter = filter;
    }

    public DistributedApplication App { get; }

    public CausalKvClusterResource Cluster { get; }

    public CausalKvClusterControl Control => Cluster.Control;

    public bool HasRouter { get; }

    /// <summary>The layout installed by hand, or the one declared to the reconciling router.</summary>
    public IReadOnlyDictionary<string, int[]> Layout => _views?.Layout ?? Control.Layout;

    public string ClusterKey => Control.ClusterKey;

    public long Epoch => _views?.Epoch ?? Control.Epoch;

    public bool RealPartitions => _filter is not null;

    public IEnumerable<CausalKvNode> Nodes => Cluster.AllNodes.Where(n => !n.IsSpare);

    public static Builder Create(int nodes = 4, int shards = 2) => new(nodes, shards);

    /// <summary>The resource name of a test's short name: <c>node3</c> is <c>kv-node3</c>.</summary>
    public static string ResourceName(string name) =>
        name.StartsWith("node", StringComparison.Ordinal) ? $"{ClusterName}-{name}" : name;

    public static int NodeId(string name) => int.Parse(name.AsSpan(name.LastIndexOf("node", StringComparison.Ordinal) + 4), System.Globalization.CultureInfo.InvariantCulture);

    public Uri Endpoint(string name) => App.GetEndpoint(ResourceName(name), "http");

    /// <summary>
    /// An HttpClient addressed to a resource, with no proxy and a short connect timeout (a cut link hangs). It sends the
    /// cluster key with <c>GET /admin/digest</c> only (the state digest demands it, as an operator's tools would send it);
    /// every other request goes without it, as a client's does.
    /// </summary>
    public HttpClient CreateHttpClient(string name, TimeSpan? timeout = null) =>
        new(new AdminKeyHandler(ClusterKey) { InnerHandler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) } })
        {
            BaseAddress = Endpoint(name),
            Timeout = timeout ?? TimeSpan.FromSeconds(100),
        };

    private sealed class AdminKeyHandler(string clusterKey) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri is { } uri && (uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString).StartsWith("/admin/digest", StringComparison.Ordinal)
                && !request.Headers.Contains(CausalKv.Node.Configuration.NodeIdentity.ClusterKeyHeader))
                request.Headers.Add(CausalKv.Node.Configuration.NodeIdentity.ClusterKeyHeader, clusterKey);
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Cuts the link between two nodes both ways: iptables with real partitions, else fault injection.</summary>
    public async Task CutAsync(int a, int b)
    {
        if (_filter is null)
        {
            await Control.CutAsync(a, b);
            return;
        }
        var (na, nb) = (Cluster.Node(a), Cluster.Node(b));
        await _filter.DropAsync(RealPartitionNodes.UidOf(na.Host), IPAddress.Parse(nb.Host));
        await _filter.DropAsync(RealPartitionNodes.UidOf(nb.Host), IPAddress.Parse(na.Host));
    }

    public async Task HealAsync(int a, int b)
    {
        if (_filter is null)
        {
            await Control.HealAsync(a, b);
            return;
        }
        var (na, nb) = (Cluster.Node(a), Cluster.Node(b));
        await _filter.AllowAsync(RealPartitionNodes.UidOf(na.Host), IPAddress.Parse(nb.Host));
        await _filter.AllowAsync(RealPartitionNodes.UidOf(nb.Host), IPAddress.Parse(na.Host));
    }

    public Task HealAllAsync() => _filter is null ? Control.HealAllAsync() : _filter.AllowAllAsync();

    /// <summary>
    /// Installs <paramref name="layout"/> by hand (on <paramref name="onlyOn"/> only when given), or, when the router
    /// reconciles the cluster, declares it as the next generation and waits until the router has it in place.
    /// </summary>
    public Task<long> InstallViewAsync(IReadOnlyDictionary<string, int[]> layout, IEnumerable<int>? onlyOn = null)
    {
        if (_views is not null) return _views.InstallViewAsync(layout, onlyOn);
        if (onlyOn is not null) throw new InvalidOperationException("A router that reconciles the cluster installs every view everywhere: a partial install needs views by hand.");
        return Control.DeclareAsync(layout);
    }

    public Task CompleteViewAsync() =>
        _views?.CompleteViewAsync() ?? throw new InvalidOperationException("The router reconciles this cluster: there is no partial install to complete.");

    /// <summary>The <c>PUT /view</c> body for a layout of this cluster's nodes.</summary>
    public JsonObject ViewBody(IReadOnlyDictionary<string, int[]> layout, long? epoch) => ViewInstaller.Body(layout, id => Cluster.Node(id).Address, epoch);

    /// <summary>Packets the real cuts have dropped so far; null when cuts are fault injection.</summary>
    public async Task<long?> DroppedPacketsAsync() => _filter is null ? null : await _filter.DroppedPacketsAsync();

    public Task<JsonElement> GetStatusAsync(string name) => Control.GetStatusAsync(NodeId(name));

    /// <summary>SIGKILL, as a crash; returns once the resource is no longer running.</summary>
    public Task<int> KillResourceAsync(string name) => Control.KillAsync(NodeId(name));

    /// <summary>The dashboard's Start command; returns once the node has rejoined (its view installed again).</summary>
    public async Task StartResourceAsync(string name)
    {
        var resource = Cluster.Node(NodeId(name)).Resource;
        var result = await App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand);
        if (!result.Success) throw new InvalidOperationException($"{name} did not start: {result.Message}");
        await Control.WaitForJoinAsync(NodeId(name)).WaitAsync(StartTimeout);
        if (_views is not null) await _views.RejoinAsync(NodeId(name)).WaitAsync(StartTimeout);
    }

    public Task WaitForResourceHealthyAsync(string name) =>
        App.ResourceNotifications.WaitForResourceHealthyAsync(ResourceName(name)).WaitAsync(StartTimeout);

    /// <summary>
    /// The process serving a resource: a node reports its own; for a project resource DCP runs <c>dotnet run</c>,
    /// whose child is the service.
    /// </summary>
    public async Task<int> ProcessIdAsync(string name)
    {
        if (name.StartsWith("node", StringComparison.Ordinal)) return (await GetStatusAsync(name)).GetProperty("pid").GetInt32();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var e = await App.ResourceNotifications.WaitForResourceAsync(ResourceName(name), _ => true, cts.Token);
        var runner = Convert.ToInt32(e.Snapshot.Properties.First(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);
        var children = File.ReadAllText($"/proc/{runner}/task/{runner}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return children.Length > 0 ? int.Parse(children[0], System.Globalization.CultureInfo.InvariantCulture) : runner;
    }

    /// <summary>The state text the resource shows on the dashboard (Running, Exited, ...).</summary>
    public async Task<string?> StateAsync(string name)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var e = await App.ResourceNotifications.WaitForResourceAsync(ResourceName(name), _ => true, cts.Token);
        return e.Snapshot.State?.Text;
    }

    /// <summary>Passes every console line of a resource to <paramref name="sink"/> until the app stops.</summary>
    public void WatchConsole(string name, Action<string> sink)
    {
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in logs.WatchAsync(ResourceName(name)).WithCancellation(_stopping.Token))
                    foreach (var line in batch) sink(line.Content);
            }
            catch (OperationCanceledException) { }
        });
    }

    private readonly CancellationTokenSource _stopping = new();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await App.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await App.DisposeAsync();
        _views?.Dispose();
        if (_filter is not null) await _filter.DisposeAsync(); // leaves the machine's packet filter as it found it
    }

    /// <summary>The AppHost's layout and settings, passed as its command-line configuration.</summary>
    public sealed class Builder
    {
        private readonly List<string> _args;
        private bool _router = true;
        private bool _reconciled;
        private bool _initialView = true;
        private bool _realPartitions;

        private bool _projects;

        internal Builder(int nodes, int shards)
        {
            // A key of its own, so tests neither read nor write the AppHost's user secrets.
            var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            _args = ["--nodes", $"{nodes}", "--shards", $"{shards}", "--spares", "0", $"--Parameters:{ClusterName}-cluster-key={key}", SampleOff, ViewsByHand];
        }

        private const string ViewsByHand = "--CausalKv:AppHost:Reconcile=false";

        /// <summary>
        /// The router reconciles the declared cluster, as under <c>dotnet run</c>: it installs the first view, resends it
        /// to restarted nodes, and Add shard / Remove shard (and <see cref="KvApp.InstallViewAsync"/>) declare the next
        /// generation to it. Other tests put views by hand (through the router or on the nodes), which a reconciler would undo.
        /// </summary>
        public Builder Reconciled()
        {
            _reconciled = true;
            _args.Remove(ViewsByHand);
            return this;
        }

        /// <summary>
        /// Nodes as project resources, exactly as <c>dotnet run</c> of the AppHost declares them. Other tests run the
        /// same node from its build output, which starts without <c>dotnet run</c>'s 1.5 s of CPU per node.
        /// </summary>
        public Builder AsProjects()
        {
            _projects = true;
            return this;
        }

        private const string SampleOff = "--CausalKv:AppHost:Sample=false";

        /// <summary>With the AppHost's sample service ("comments"), which <c>dotnet run</c> starts and other tests leave out.</summary>
        public Builder WithSample()
        {
            _args.Remove(SampleOff);
            return this;
        }

        public Builder WithNodeSetting(string name, string value) => Arg($"--CausalKv:AppHost:NodeSettings:{name}={value}");

        public Builder WithoutRouter()
        {
            _router = false;
            return Arg("--CausalKv:AppHost:Router=false");
        }

        /// <summary>With the router (views by hand), after <see cref="WithoutInitialView"/>: it runs, and is ready once it learns a view.</summary>
        public Builder WithRouter()
        {
            _router = true;
            _args.Remove("--CausalKv:AppHost:Router=false");
            return this;
        }

        /// <summary>Nodes start without a view (and without the router): they answer /ping and refuse data until a PUT /view.</summary>
        public Builder WithoutInitialView()
        {
            _initialView = false;
            return WithoutRouter();
        }

        /// <summary>Each node its own Unix user on its own loopback address; cuts drop packets with iptables (Linux, root).</summary>
        public Builder WithRealPartitions()
        {
            if (PacketFilter.WhyUnavailable() is { } why) throw new InvalidOperationException($"Real partitions are not possible here: {why}.");
            _realPartitions = true;
            return Arg("--CausalKv:AppHost:RealPartitions=true");
        }

        public Builder WithSpares(int spares) => Arg($"--spares={spares}");

        /// <summary>Node data under <paramref name="path"/> (one folder per node), kept when the app stops.</summary>
        public Builder WithDataDirectory(string path) => Arg($"--CausalKv:AppHost:DataDirectory={path}");

        /// <summary>The Aspire dashboard on (it is off under Aspire.Hosting.Testing), on free loopback ports, with a known browser token.</summary>
        public Builder WithDashboard(int port, int otlpPort, string browserToken)
        {
            _dashboard = true;
            return Arg($"--ASPNETCORE_URLS=http://127.0.0.1:{port}")
                .Arg($"--ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://127.0.0.1:{otlpPort}")
                .Arg("--ASPIRE_ALLOW_UNSECURED_TRANSPORT=true")
                .Arg("--DcpPublisher:RandomizePorts=false")
                .Arg($"--ASPIRE_DASHBOARD_FRONTEND_BROWSERTOKEN={browserToken}");
        }

        private bool _dashboard;

        private Builder Arg(string arg)
        {
            _args.Add(arg);
            return this;
        }

        public async Task<KvApp> StartAsync()
        {
            using var timeout = new CancellationTokenSource(StartTimeout);
            if (!_projects) _args.Add("--CausalKv:AppHost:NodesFromBuildOutput=true");
            var dashboard = _dashboard;
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.CausalKv_AppHost>([.. _args],
                (options, _) => options.DisableDashboard = !dashboard, timeout.Token);
            var app = await builder.BuildAsync(timeout.Token);
            var cluster = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<CausalKvClusterResource>().Single();
            var filter = _realPartitions ? new PacketFilter() : null;
            ViewInstaller? views = null;
            try
            {
                await app.StartAsync(timeout.Token);
                await cluster.Control.Serving.WaitAsync(timeout.Token);
                if (!_reconciled)
                {
                    views = new ViewInstaller(cluster, cluster.Control.ClusterKey);
                    if (_initialView) await views.InstallFirstAsync(timeout.Token);
                }
                // The router is ready once it holds a view to route by; without any view it only runs.
                if (_router && (_reconciled || _initialView)) await app.ResourceNotifications.WaitForResourceHealthyAsync("router", timeout.Token);
                else if (_router) await app.ResourceNotifications.WaitForResourceAsync("router", KnownResourceStates.Running, timeout.Token);
                return new KvApp(app, cluster, _router, views, filter);
            }
            catch
            {
                // The start failed part way: what it left running goes with the app; the start's own error is the news.
                try { await app.DisposeAsync(); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or OperationCanceledException) { }
                views?.Dispose();
                if (filter is not null) await filter.DisposeAsync();
                throw;
            }
        }
    }
}
