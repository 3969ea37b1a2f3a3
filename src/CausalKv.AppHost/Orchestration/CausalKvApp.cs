using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CausalKv.AppHost.Orchestration;

/// <summary>
/// The running distributed application: the node and router processes, their
/// states and health, the view installed on the nodes, and the commands the
/// dashboard and tests use (stop, start, restart, kill, cut and heal links,
/// change the view). Disposing it stops every process it started.
/// </summary>
public sealed class CausalKvApp : IAsyncDisposable
{
    public const string ClusterKeyHeader = "X-CausalKv-Key";

    private readonly CausalKvAppOptions _options;
    private readonly ProcessLauncher _launcher = new();
    private readonly HttpClient _control;
    private readonly List<ProjectResource> _resources = [];
    private readonly Dictionary<int, HashSet<int>> _cuts = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _viewGate = new(1, 1);
    private readonly PacketFilter? _filter;
    private Dictionary<string, int[]> _layout = [];
    private long _epoch;
    private int _disposed;

    public CausalKvApp(CausalKvAppOptions options)
    {
        options.Validate();
        _options = options;
        ClusterKey = options.ClusterKey ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _control = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), UseProxy = false })
        {
            Timeout = TimeSpan.FromSeconds(100),
        };
        _control.DefaultRequestHeaders.Add(ClusterKeyHeader, ClusterKey);
        _ownsDataRoot = options.DataRoot is null;
        DataRoot = options.DataRoot ?? Path.Combine(Path.GetTempPath(), $"causalkv-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
        _filter = options.RealPartitions ? new PacketFilter() : null;
        Build();
    }

    /// <summary>Why <see cref="CausalKvAppOptions.RealPartitions"/> cannot work on this machine, or null when it can.</summary>
    public static string? WhyRealPartitionsUnavailable() => PacketFilter.WhyUnavailable();

    /// <summary>True when cuts drop packets with iptables (<see cref="CausalKvAppOptions.RealPartitions"/>), not by fault injection.</summary>
    public bool RealPartitions => _filter is not null;

    public string ClusterKey { get; }

    /// <summary>The folder holding each node's write-ahead log.</summary>
    public string DataRoot { get; }

    private readonly bool _ownsDataRoot;

    public IReadOnlyList<ProjectResource> Resources => _resources;

    public IEnumerable<ProjectResource> Nodes => _resources.Where(r => r.NodeId is not null);

    public ProjectResource? Router => _resources.FirstOrDefault(r => r.Name == "router");

    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>The installed layout: shard name -> node ids.</summary>
    public IReadOnlyDictionary<string, int[]> Layout => _layout;

    public ProjectResource GetResource(string name) =>
        _resources.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"No resource named '{name}'.", nameof(name));

    public ProjectResource Node(int id) => Nodes.First(n => n.NodeId == id);

    /// <summary>Which links are cut: node id -> the nodes it cannot reach.</summary>
    public IReadOnlyDictionary<int, int[]> Cuts
    {
        get { lock (_cuts) return _cuts.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Value.Order().ToArray()); }
    }

    private void Build()
    {
        var nodePath = ProjectPath("node");
        for (var i = 0; i < _options.Nodes; i++)
        {
            var host = IPAddress.Parse($"127.0.0.{_options.FirstLoopbackHost + i}");
            var node = new ProjectResource($"node{i}", "node", nodePath, new Uri($"http://{host}:{FreePort(host)}"), i);
            node.Environment["NODE_IDENTIFIER"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            node.Environment["CausalKv__EnableFaultInjection"] = _options.EnableFaultInjection ? "true" : "false";
            node.Environment["CausalKv__DataDirectory"] = Path.Combine(DataRoot, node.Name);
            if (_options.RealPartitions)
            {
                node.Uid = _options.FirstNodeUid + _options.FirstLoopbackHost + i;
                node.Environment["HOME"] = Path.Combine(DataRoot, node.Name);
            }
            foreach (var (k, v) in _options.NodeEnvironment) node.Environment[k] = v;
            _resources.Add(node);
        }
        if (_options.StartRouter)
        {
            var host = IPAddress.Loopback;
            var router = new ProjectResource("router", "router", ProjectPath("router"), new Uri($"http://{host}:{FreePort(host)}"), null);
            foreach (var node in Nodes)
            {
                // Service discovery entries, as Aspire injects them for WithReference(node).
                router.Environment[$"services__{node.Name}__http__0"] = node.Endpoint.ToString().TrimEnd('/');
                router.Environment[$"{node.Name.ToUpperInvariant()}_HTTP"] = node.Endpoint.ToString().TrimEnd('/');
            }
            foreach (var (k, v) in _options.RouterEnvironment) router.Environment[k] = v;
            _resources.Add(router);
        }
        foreach (var r in _resources)
        {
            r.Environment["ASPNETCORE_URLS"] = r.Endpoint.ToString().TrimEnd('/');
            r.Environment["CausalKv__ClusterKey"] = ClusterKey;
            r.Environment["OTEL_SERVICE_NAME"] = r.Name;
            r.Environment["OTEL_RESOURCE_ATTRIBUTES"] = "service.instance.id=" + InstanceId();
            r.Environment["LOGGING__CONSOLE__FORMATTERNAME"] = "simple";
            r.Environment["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "false";
            if (_options.OtlpEndpoint is not null)
            {
                r.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = _options.OtlpEndpoint;
                r.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                r.Environment["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
                r.Environment["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
                r.Environment["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
                r.Environment["OTEL_TRACES_SAMPLER"] = "always_on";
                if (_options.OtlpApiKey is not null) r.Environment["OTEL_EXPORTER_OTLP_HEADERS"] = "x-otlp-api-key=" + _options.OtlpApiKey;
            }
        }
        _layout = DefaultLayout(_options.Nodes, _options.Shards);
    }

    /// <summary>Shards of consecutive nodes: with 6 nodes and 3 shards, shard0 = {0,1}, shard1 = {2,3}, shard2 = {4,5}.</summary>
    public static Dictionary<string, int[]> DefaultLayout(int nodes, int shards)
    {
        var layout = new Dictionary<string, int[]>(StringComparer.Ordinal);
        for (var s = 0; s < shards; s++)
        {
            var from = s * nodes / shards;
            var to = (s + 1) * nodes / shards;
            layout[$"shard{s}"] = Enumerable.Range(from, to - from).ToArray();
        }
        return layout;
    }

    private static string InstanceId()
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        return string.Create(8, 0, (span, _) => { for (var i = 0; i < span.Length; i++) span[i] = letters[RandomNumberGenerator.GetInt32(letters.Length)]; });
    }

    private static string ProjectPath(string project)
    {
        var path = typeof(CausalKvApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "CausalKv.Project." + project)?.Value
            ?? throw new InvalidOperationException($"The AppHost was built without the path of project '{project}'.");
        return Path.GetFullPath(path.Replace('\\', Path.DirectorySeparatorChar));
    }

    private static int FreePort(IPAddress host)
    {
        using var listener = new TcpListener(host, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts every node, installs the initial view, then starts the router; returns when all are healthy.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        cts.CancelAfter(_options.StartTimeout);
        await Task.WhenAll(Nodes.Select(n => StartProcessAsync(n, cts.Token)));
        await Task.WhenAll(Nodes.Select(n => WaitForAliveAsync(n, cts.Token)));
        if (!_options.InstallInitialView) return;
        await InstallViewAsync(_layout, cts.Token);
        await Task.WhenAll(Nodes.Select(n => WaitForResourceHealthyAsync(n.Name, cts.Token)));
        if (Router is { } router)
        {
            await StartProcessAsync(router, cts.Token);
            await WaitForResourceHealthyAsync(router.Name, cts.Token);
        }
    }

    private async Task StartProcessAsync(ProjectResource r, CancellationToken ct)
    {
        if (r.State is ResourceState.Running or ResourceState.Starting) return;
        if (!File.Exists(r.ProjectPath))
        {
            r.State = ResourceState.FailedToStart;
            r.HealthDescription = $"{r.ProjectPath} does not exist: build the solution first.";
            r.Notify();
            throw new InvalidOperationException($"Resource {r.Name} failed to start: {r.HealthDescription}");
        }
        r.State = ResourceState.Starting;
        r.Health = ResourceHealth.Unknown;
        r.ExitCode = null;
        r.StopRequested = false;
        r.Notify();
        Process process;
        try
        {
            if (r.Uid is { } uid) PrepareDataDirectory(r, uid);
            process = await _launcher.StartAsync("dotnet", [r.ProjectPath], r.Environment, Path.GetDirectoryName(r.ProjectPath)!, r.Uid);
        }
        catch (Exception e)
        {
            r.State = ResourceState.FailedToStart;
            r.HealthDescription = e.Message;
            r.Notify();
            throw;
        }
        if (r.Starts++ > 0) r.RestartCount++;
        r.Process = process;
        r.Pid = process.Id;
        r.StartedAt = DateTimeOffset.UtcNow;
        process.EnableRaisingEvents = true;
        process.OutputDataReceived += (_, e) => OnLine(r, e.Data, false);
        process.ErrorDataReceived += (_, e) => OnLine(r, e.Data, true);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => OnExited(r, process);
        _ = MonitorHealthAsync(r, process);
        r.Notify();
    }

    /// <summary>A node running as its own user owns its data folder; the root above it only lets it through.</summary>
    private void PrepareDataDirectory(ProjectResource r, int uid)
    {
        var root = Directory.CreateDirectory(DataRoot);
        if (OperatingSystem.IsWindows()) return; // real partitions are refused there at start
        root.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        var own = Directory.CreateDirectory(Path.Combine(DataRoot, r.Name));
        ProcessLauncher.ChangeOwner(own.FullName, uid);
        foreach (var file in own.EnumerateFileSystemInfos("*", SearchOption.AllDirectories)) ProcessLauncher.ChangeOwner(file.FullName, uid);
    }

    private void OnLine(ProjectResource r, string? line, bool isError)
    {
        if (line is null) return;
        r.Console.Add(line, isError);
        _options.ConsoleSink?.Invoke(r.Name, line);
    }

    private void OnExited(ProjectResource r, Process process)
    {
        if (!ReferenceEquals(r.Process, process)) return;
        r.ExitCode = process.ExitCode;
        r.State = ResourceState.Exited;
        r.Health = ResourceHealth.Unknown;
        r.Pid = null;
        r.Notify();
    }

    /// <summary>Polls <c>/health</c>: every second while healthy, four times a second otherwise.</summary>
    private async Task MonitorHealthAsync(ProjectResource r, Process process)
    {
        var ct = _stopping.Token;
        while (!ct.IsCancellationRequested && ReferenceEquals(r.Process, process) && !process.HasExited)
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(2));
                using var response = await _control.GetAsync(new Uri(r.Endpoint, "/health"), cts.Token);
                var text = await response.Content.ReadAsStringAsync(cts.Token);
                if (r.State == ResourceState.Starting) r.State = ResourceState.Running;
                var health = response.IsSuccessStatusCode ? ResourceHealth.Healthy
                    : text.Contains("Degraded", StringComparison.Ordinal) ? ResourceHealth.Degraded : ResourceHealth.Unhealthy;
                if (health != r.Health || text != r.HealthDescription)
                {
                    r.Health = health;
                    r.HealthDescription = text;
                    r.Notify();
                }
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                if (r.State == ResourceState.Running && r.Health != ResourceHealth.Unhealthy)
                {
                    r.Health = ResourceHealth.Unhealthy;
                    r.Notify();
                }
            }
            try { await Task.Delay(r.Health == ResourceHealth.Healthy ? 1000 : 250, ct); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task WaitForAliveAsync(ProjectResource r, CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (r.State is ResourceState.Exited or ResourceState.FailedToStart)
                throw new InvalidOperationException($"Resource {r.Name} exited during start (exit code {r.ExitCode}). Last output:\n{Tail(r)}");
            try
            {
                using var response = await _control.GetAsync(new Uri(r.Endpoint, "/alive"), ct);
                if (response.IsSuccessStatusCode)
                {
                    if (r.State == ResourceState.Starting) { r.State = ResourceState.Running; r.Notify(); }
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested)) { }
            await Task.Delay(100, ct);
        }
    }

    private static string Tail(ProjectResource r) => string.Join('\n', r.Console.Since(0).TakeLast(30).Select(l => l.Text));

    /// <summary>Waits until the resource is Running and its health checks pass (Aspire's WaitForResourceHealthyAsync).</summary>
    public async Task WaitForResourceHealthyAsync(string name, CancellationToken ct = default)
    {
        var r = GetResource(name);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (!ct.CanBeCanceled) cts.CancelAfter(_options.StartTimeout);
        while (!(r.State == ResourceState.Running && r.Health == ResourceHealth.Healthy))
        {
            if (r.State is ResourceState.FailedToStart)
                throw new InvalidOperationException($"Resource {name} failed to start: {r.HealthDescription}");
            await Task.Delay(50, cts.Token);
        }
    }

    /// <summary>An HttpClient addressed to a resource's endpoint, as Aspire's CreateHttpClient gives.</summary>
    public HttpClient CreateHttpClient(string name, TimeSpan? timeout = null) =>
        new(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            BaseAddress = GetResource(name).Endpoint,
            Timeout = timeout ?? TimeSpan.FromSeconds(100),
        };

    /// <summary>Installs a layout (shard -> node ids) on every node of the old and the new view, with the next epoch.</summary>
    /// <param name="onlyOn">install on these nodes only (views may reach nodes in any order); the rest with <see cref="CompleteViewAsync"/></param>
    public async Task<long> InstallViewAsync(IReadOnlyDictionary<string, int[]> layout, CancellationToken ct = default, IEnumerable<int>? onlyOn = null)
    {
        await _viewGate.WaitAsync(ct);
        try
        {
            var epoch = Epoch + 1;
            var body = ViewBody(layout, epoch);
            var only = onlyOn?.ToHashSet();
            var targets = _layout.Values.SelectMany(x => x).Concat(layout.Values.SelectMany(x => x)).Distinct()
                .Where(id => only is null || only.Contains(id))
                .Select(Node).Where(n => n.State == ResourceState.Running).ToList();
            _pendingView = only is null ? null : (layout.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal), _layout, epoch, only);
            var results = await Task.WhenAll(targets.Select(async n =>
            {
                using var response = await _control.PutAsync(new Uri(n.Endpoint, "/view"), JsonContent.Create(body), ct);
                return (n.Name, response.StatusCode, Text: await response.Content.ReadAsStringAsync(ct));
            }));
            var failed = results.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
            _layout = layout.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
            Interlocked.Exchange(ref _epoch, epoch);
            if (failed.Count > 0)
                throw new InvalidOperationException("View change incomplete: " + string.Join("; ", failed.Select(f => $"{f.Name}: {(int)f.StatusCode} {f.Text}")));
            return epoch;
        }
        finally
        {
            _viewGate.Release();
        }
    }

    private (Dictionary<string, int[]> Layout, Dictionary<string, int[]> Previous, long Epoch, HashSet<int> Done)? _pendingView;

    /// <summary>Installs the view a partial <see cref="InstallViewAsync"/> left out on the remaining nodes.</summary>
    public async Task CompleteViewAsync(CancellationToken ct = default)
    {
        if (_pendingView is not { } pending) return;
        var body = ViewBody(pending.Layout, pending.Epoch);
        var targets = pending.Previous.Values.SelectMany(x => x).Concat(pending.Layout.Values.SelectMany(x => x)).Distinct()
            .Where(id => !pending.Done.Contains(id)).Select(Node).Where(n => n.State == ResourceState.Running).ToList();
        var results = await Task.WhenAll(targets.Select(async n =>
        {
            using var response = await _control.PutAsync(new Uri(n.Endpoint, "/view"), JsonContent.Create(body), ct);
            return (n.Name, response.StatusCode, Text: await response.Content.ReadAsStringAsync(ct));
        }));
        _pendingView = null;
        var failed = results.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        if (failed.Count > 0)
            throw new InvalidOperationException("View change incomplete: " + string.Join("; ", failed.Select(f => $"{f.Name}: {(int)f.StatusCode} {f.Text}")));
    }

    /// <summary>The <c>PUT /view</c> body for a layout.</summary>
    public JsonObject ViewBody(IReadOnlyDictionary<string, int[]> layout, long? epoch)
    {
        var view = new JsonObject();
        foreach (var (shard, ids) in layout)
            view[shard] = new JsonArray(ids.Select(id => (JsonNode)new JsonObject { ["address"] = Node(id).Address, ["id"] = id }).ToArray());
        var body = new JsonObject { ["view"] = view };
        if (epoch is not null) body["epoch"] = epoch;
        return body;
    }

    /// <summary>Stops a resource gracefully (SIGTERM, then SIGKILL after 10 s).</summary>
    public async Task StopResourceAsync(string name)
    {
        var r = GetResource(name);
        if (r.Process is not { } p || p.HasExited) return;
        r.StopRequested = true;
        r.State = ResourceState.Stopping;
        r.Notify();
        ProcessLauncher.Terminate(p.Id);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); }
    }

    /// <summary>Kills a resource at once (SIGKILL): no shutdown code runs, as on a crash.</summary>
    public async Task KillResourceAsync(string name)
    {
        var r = GetResource(name);
        if (r.Process is not { } p || p.HasExited) return;
        p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
    }

    /// <summary>Starts a stopped resource; a node gets the current view and its cuts back, as a real AppHost re-applies its model.</summary>
    public async Task StartResourceAsync(string name, CancellationToken ct = default)
    {
        var r = GetResource(name);
        if (r.Process is { HasExited: false }) return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        cts.CancelAfter(_options.StartTimeout);
        await StartProcessAsync(r, cts.Token);
        await WaitForAliveAsync(r, cts.Token);
        if (r.NodeId is { } id)
        {
            int[] blocked;
            lock (_cuts) blocked = _cuts.TryGetValue(id, out var set) ? set.ToArray() : [];
            if (blocked.Length > 0) await SetBlockedAsync(id, blocked, cts.Token);
            if (_layout.Values.Any(ids => ids.Contains(id)))
            {
                using var response = await _control.PutAsync(new Uri(r.Endpoint, "/view"), JsonContent.Create(ViewBody(_layout, Epoch)), cts.Token);
                response.EnsureSuccessStatusCode();
            }
        }
    }

    public async Task RestartResourceAsync(string name, CancellationToken ct = default)
    {
        await StopResourceAsync(name);
        await StartResourceAsync(name, ct);
    }

    /// <summary>Cuts the link between two nodes both ways (each drops the other's traffic).</summary>
    public Task CutAsync(int a, int b, CancellationToken ct = default) => ChangeLinkAsync(a, b, cut: true, ct);

    public Task HealAsync(int a, int b, CancellationToken ct = default) => ChangeLinkAsync(a, b, cut: false, ct);

    public async Task HealAllAsync(CancellationToken ct = default)
    {
        int[] nodes;
        lock (_cuts) { nodes = _cuts.Keys.ToArray(); _cuts.Clear(); }
        if (_filter is not null)
        {
            await _filter.AllowAllAsync(ct);
            return;
        }
        await Task.WhenAll(nodes.Select(n => SetBlockedAsync(n, [], ct)));
    }

    private async Task ChangeLinkAsync(int a, int b, bool cut, CancellationToken ct)
    {
        int[] blockedA, blockedB;
        lock (_cuts)
        {
            blockedA = Update(a, b);
            blockedB = Update(b, a);
        }
        if (_filter is not null)
        {
            var (na, nb) = (Node(a), Node(b));
            if (cut)
            {
                await _filter.DropAsync(na.Uid!.Value, Address(nb), ct);
                await _filter.DropAsync(nb.Uid!.Value, Address(na), ct);
            }
            else
            {
                await _filter.AllowAsync(na.Uid!.Value, Address(nb), ct);
                await _filter.AllowAsync(nb.Uid!.Value, Address(na), ct);
            }
            return;
        }
        await Task.WhenAll(SetBlockedAsync(a, blockedA, ct), SetBlockedAsync(b, blockedB, ct));

        static IPAddress Address(ProjectResource node) => IPAddress.Parse(node.Endpoint.Host);

        int[] Update(int from, int to)
        {
            if (!_cuts.TryGetValue(from, out var set)) _cuts[from] = set = [];
            if (cut) set.Add(to); else set.Remove(to);
            return set.ToArray();
        }
    }

    /// <summary>Packets the real cuts have dropped so far (iptables' counters); null when cuts are fault injection.</summary>
    public async Task<long?> DroppedPacketsAsync(CancellationToken ct = default) =>
        _filter is null ? null : await _filter.DroppedPacketsAsync(ct);

    private async Task SetBlockedAsync(int node, int[] blocked, CancellationToken ct)
    {
        if (_filter is not null) return; // iptables rules outlive a node's restart
        var r = Node(node);
        if (r.State != ResourceState.Running) return;
        using var response = await _control.PutAsync(new Uri(r.Endpoint, "/admin/faults"), JsonContent.Create(new { blocked }), ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{r.Name} refused the fault setting: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    /// <summary>A node's <c>/admin/status</c> document.</summary>
    public async Task<JsonElement> GetStatusAsync(string name, CancellationToken ct = default)
    {
        var r = GetResource(name);
        return await _control.GetFromJsonAsync<JsonElement>(new Uri(r.Endpoint, "/admin/status"), ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        var running = _resources.Where(r => r.Process is { HasExited: false }).ToList();
        // Router first, so it does not see nodes vanish; then the nodes, all at once.
        if (Router is { Process: { HasExited: false } }) await StopResourceAsync("router");
        await Task.WhenAll(running.Where(r => r.Name != "router").Select(r => StopResourceAsync(r.Name)));
        _stopping.Cancel();
        if (_filter is not null) await _filter.DisposeAsync();
        foreach (var r in _resources) r.Process?.Dispose();
        if (_ownsDataRoot)
        {
            try { Directory.Delete(DataRoot, recursive: true); } catch (DirectoryNotFoundException) { }
        }
        _launcher.Dispose();
        _control.Dispose();
    }
}
