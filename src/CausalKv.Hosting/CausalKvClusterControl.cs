using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using CausalKv.Protocol;
using CausalKv.Sharding;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CausalKv.Hosting;

/// <summary>
/// The running half of a <see cref="CausalKvClusterResource"/>. It never installs a view: the router that reconciles
/// the declared cluster (<see cref="Aspire.Hosting.CausalKvBuilderExtensions.WithClusterDeclaration{T}"/>) does. This
/// watches the node resources and marks the cluster Running once every node of the declared layout holds a view of the
/// declared generation (without a reconciling router, once every node answers: the nodes then wait for a
/// <c>PUT /view</c>). Add shard and Remove shard declare the next generation to the router and wait until it reports the
/// cluster in sync. With fault injection it cuts and heals links and kills nodes (a node started again gets its cuts
/// back). It publishes each node's shard, epoch, key count and lag as resource properties.
/// </summary>
public sealed class CausalKvClusterControl
{
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    private readonly CausalKvClusterResource _kv;
    private readonly SemaphoreSlim _declarationGate = new(1, 1);
    private readonly Dictionary<int, HashSet<int>> _cuts = [];
    private readonly ConcurrentDictionary<int, NodeRun> _runs = new();
    private readonly ConcurrentDictionary<int, NodeStatusSummary> _statuses = new();
    private readonly TaskCompletionSource _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lazy<string> _dataRoot;
    private HttpClient _http = null!;
    private ResourceNotificationService _notifications = null!;
    private ResourceCommandService _commands = null!;
    private ResourceLoggerService _consoleLogs = null!;
    private ILogger _log = null!;
    private Dictionary<string, int[]> _layout = [];
    private bool _ready;
    private long _epoch;

    internal CausalKvClusterControl(CausalKvClusterResource kv)
    {
        _kv = kv;
        _dataRoot = new Lazy<string>(() => kv.DataDirectory
            ?? Path.Combine(Path.GetTempPath(), $"causalkv-{kv.Name}-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}"));
    }

    /// <summary>The folder holding one data directory per node.</summary>
    public string DataRoot => _dataRoot.Value;

    /// <summary>The data directory of the node resource named <paramref name="nodeName"/>.</summary>
    public string DataDirectoryOf(string nodeName) => Path.Combine(DataRoot, nodeName);

    public string ClusterKey { get; private set; } = "";

    /// <summary>The declared layout: shard name -> node ids.</summary>
    public IReadOnlyDictionary<string, int[]> Layout => _layout;

    /// <summary>The newest view epoch a node of the cluster was seen to hold.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>Completes once the declared view is in place (without a reconciling router, once every node is up); faults when a node cannot start.</summary>
    public Task Serving => _serving.Task;

    /// <summary>Which links are cut: node id -> the nodes it cannot reach.</summary>
    public IReadOnlyDictionary<int, int[]> Cuts
    {
        get { lock (_cuts) return _cuts.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Value.Order().ToArray()); }
    }

    /// <summary>The latest status read from each running node.</summary>
    public IReadOnlyDictionary<int, NodeStatusSummary> Statuses => _statuses;

    internal void Start(IServiceProvider services, CancellationToken stopping)
    {
        _notifications = services.GetRequiredService<ResourceNotificationService>();
        _commands = services.GetRequiredService<ResourceCommandService>();
        _consoleLogs = services.GetRequiredService<ResourceLoggerService>();
        _log = services.GetRequiredService<ILoggerFactory>().CreateLogger("CausalKv.Hosting");
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), UseProxy = false }) { Timeout = TimeSpan.FromSeconds(100) };
        _layout = ClusterLayout.Initial(_kv.Nodes, _kv.Shards);
        services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(Cleanup);
        _ = Task.Run(() => WatchAsync(stopping), CancellationToken.None);
        _ = Task.Run(() => PublishStatusAsync(stopping), CancellationToken.None);
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        try
        {
            ClusterKey = await _kv.ClusterKeyParameter.GetValueAsync(ct) ?? throw new InvalidOperationException($"{_kv.ClusterKeyParameter.Name} has no value.");
            _http.DefaultRequestHeaders.Add(ProtocolHeaders.ClusterKey, ClusterKey);
            await foreach (var e in _notifications.WatchAsync(ct))
            {
                if (NodeOf(e.Resource) is not { } node) continue;
                var state = e.Snapshot.State?.Text;
                var run = _runs.GetOrAdd(node.Id, _ => new NodeRun());
                if (state == KnownResourceStates.Running)
                {
                    if (run.Begin()) _ = Task.Run(() => JoinAsync(node, run, ct), CancellationToken.None);
                }
                else if (state is not null)
                {
                    if (run.End()) _statuses.TryRemove(node.Id, out _);
                    if (!_serving.Task.IsCompleted && !node.IsSpare && (state == KnownResourceStates.FailedToStart || state == KnownResourceStates.Exited || state == KnownResourceStates.Finished))
                    {
                        var why = $"{node.Name} {state.ToLowerInvariant()} before the cluster was serving (exit code {e.Snapshot.ExitCode})";
                        _ = Task.Run(async () => Fail(why + await ConsoleTailAsync(e.Resource)), CancellationToken.None);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e)
        {
            Fail(e.Message);
            _log.LogError(e, "Watching the nodes of {Cluster} failed", _kv.Name);
        }
    }

    /// <summary>The last lines a resource printed, for an error that has to say why it stopped.</summary>
    private async Task<string> ConsoleTailAsync(IResource resource)
    {
        const int Lines = 20;
        var tail = new Queue<string>();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await foreach (var batch in _consoleLogs.GetAllAsync(resource).WithCancellation(timeout.Token))
            {
                foreach (var line in batch)
                {
                    tail.Enqueue(line.Content);
                    if (tail.Count > Lines) tail.Dequeue();
                }
            }
        }
        catch (OperationCanceledException) { }
        return tail.Count == 0
            ? "; its console log is empty."
            : $". The last lines of its console log:{Environment.NewLine}{string.Join(Environment.NewLine, tail)}";
    }

    private void Fail(string why)
    {
        if (_serving.TrySetException(new InvalidOperationException($"Cluster {_kv.Name} did not start: {why}")))
            _ = _notifications.PublishUpdateAsync(_kv, s => s with { State = new ResourceStateSnapshot(KnownResourceStates.FailedToStart, KnownResourceStateStyles.Error) });
    }

    private static async Task<bool> IsNodeAsync(HttpResponseMessage status, int id, CancellationToken ct)
    {
        try
        {
            using var json = JsonDocument.Parse(await status.Content.ReadAsByteArrayAsync(ct));
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("node", out var node)
                && node.TryGetInt32(out var answered) && answered == id;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A node (re)started: once it answers as itself, it gets its cuts and the current view back.</summary>
    private async Task JoinAsync(CausalKvNode node, NodeRun run, CancellationToken ct)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(StartTimeout);
            while (true)
            {
                if (!run.IsCurrent) return;
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                    attempt.CancelAfter(TimeSpan.FromSeconds(2));
                    // Answering must be this node: a port freed by a crash can be taken by another process meanwhile.
                    using var answer = await _http.GetAsync(new Uri(node.Url, "/admin/status"), attempt.Token);
                    if (answer.IsSuccessStatusCode && await IsNodeAsync(answer, node.Id, attempt.Token)) break;
                }
                catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !deadline.IsCancellationRequested)) { }
                await Task.Delay(100, deadline.Token);
            }
            await ApplyCutsAsync(node.Id, ct);
            run.Alive = true;
            if (_kv.Reconciler is not null && _layout.Values.Any(ids => ids.Contains(node.Id)))
            {
                // The router installs and resends views: a member has joined once it holds one of the declared generation.
                var epoch = await WaitForEpochAsync(node.Id, Interlocked.Read(ref _generation), run, ct);
                if (epoch is null) return; // stopped meanwhile
                RaiseEpoch(epoch.Value);
            }
            run.Joined.TrySetResult();
            await MarkServingAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        catch (Exception e)
        {
            _log.LogWarning("{Node} did not join {Cluster}: {Reason}", node.Name, _kv.Name, e.Message);
            run.Joined.TrySetException(e);
            if (!_serving.Task.IsCompleted) Fail($"{node.Name} did not join: {e.Message}");
        }
    }

    /// <summary>The cluster serves once every node of the declared layout has joined (with a reconciler: holds the declared view).</summary>
    private async Task MarkServingAsync(CancellationToken ct)
    {
        if (_ready) return;
        await _declarationGate.WaitAsync(ct);
        try
        {
            var first = _layout.Values.SelectMany(x => x).ToArray();
            if (_ready || !first.All(id => _runs.TryGetValue(id, out var r) && r.IsCurrent && r.Joined.Task.IsCompletedSuccessfully)) return;
            _ready = true;
            if (_kv.Reconciler is not null)
                _log.LogInformation("Cluster {Cluster} serving: the router installed view epoch {Epoch} (generation {Generation}), {Layout}",
                    _kv.Name, Epoch, Interlocked.Read(ref _generation), ClusterLayout.Describe(_layout));
            else
                _log.LogInformation("Cluster {Cluster}: every node is up; with no router reconciling it (WithClusterDeclaration), they wait for a PUT /view", _kv.Name);
            await PublishClusterAsync(KnownResourceStates.Running);
            _serving.TrySetResult();
        }
        finally
        {
            _declarationGate.Release();
        }
    }

    /// <summary>Polls a node's <c>GET /view</c> until it holds an epoch of <paramref name="generation"/> or a newer one; null when the run ended first.</summary>
    private async Task<long?> WaitForEpochAsync(int id, long generation, NodeRun? run, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(StartTimeout);
        while (true)
        {
            if (run is not null && !run.IsCurrent) return null;
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                using var response = await _http.GetAsync(new Uri(_kv.Node(id).Url, "/view"), attempt.Token);
                var body = await response.Content.ReadAsByteArrayAsync(attempt.Token);
                if (response.IsSuccessStatusCode && ViewJson.TryReadNodeAnswer(body, out var epoch, out _) && ClusterDeclaration.GenerationOf(epoch) >= generation)
                    return epoch;
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !deadline.IsCancellationRequested)) { }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"{_kv.Node(id).Name} got no view of generation {generation} from the router within {StartTimeout.TotalSeconds:0} s.");
            }
            await Task.Delay(100, deadline.Token);
        }
    }

    private void RaiseEpoch(long epoch)
    {
        var seen = Interlocked.Read(ref _epoch);
        while (epoch > seen)
        {
            var previous = Interlocked.CompareExchange(ref _epoch, epoch, seen);
            if (previous == seen) return;
            seen = previous;
        }
    }

    /// <summary>The generation of the cluster's declaration: 1 at start, one more for every change (Add shard, Remove shard, a layout declared).</summary>
    public long Generation => Interlocked.Read(ref _generation);

    private long _generation = 1;

    /// <summary>
    /// Declares <paramref name="layout"/> as the next generation to the reconciling router (<c>PUT /cluster/declaration</c>)
    /// and waits until its reconciler reports every member holding the new view; returns its epoch. The router moves the
    /// keys; nothing here sends a view.
    /// </summary>
    public async Task<long> DeclareAsync(IReadOnlyDictionary<string, int[]> layout, CancellationToken ct = default)
    {
        if (_kv.Reconciler is null)
            throw new InvalidOperationException($"Cluster {_kv.Name} has no router reconciling it: declare one with WithClusterDeclaration(kv) to change its layout.");
        await _declarationGate.WaitAsync(ct);
        try
        {
            var epoch = await PutDeclarationAsync(layout, ct);
            _layout = ClusterLayout.Copy(layout);
            await PublishClusterAsync(KnownResourceStates.Running);
            return epoch;
        }
        finally
        {
            _declarationGate.Release();
        }
    }

    private async Task<long> PutDeclarationAsync(IReadOnlyDictionary<string, int[]> layout, CancellationToken ct)
    {
        var generation = Interlocked.Increment(ref _generation);
        var router = new Uri(_kv.Reconciler!.GetEndpoint("http").Url);
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["generation"] = generation,
            ["layout"] = new System.Text.Json.Nodes.JsonObject(layout.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv =>
                KeyValuePair.Create(kv.Key, (System.Text.Json.Nodes.JsonNode?)new System.Text.Json.Nodes.JsonArray(kv.Value.Select(id => (System.Text.Json.Nodes.JsonNode?)_kv.Node(id).Name).ToArray())))),
        };
        using (var response = await _http.PutAsync(new Uri(router, "/cluster/declaration"), JsonContent.Create(body), ct))
        {
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"The router refused declaration generation {generation}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }
        _log.LogInformation("Cluster {Cluster}: declared generation {Generation}, {Layout}; the router reconciles", _kv.Name, generation, ClusterLayout.Describe(layout));
        var first = ClusterDeclaration.EpochsPerGeneration * generation + 1;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(StartTimeout);
        string last = "no answer";
        while (true)
        {
            try
            {
                var state = await _http.GetFromJsonAsync<JsonElement>(new Uri(router, "/cluster/state"), deadline.Token);
                if (state.TryGetProperty("reconciler", out var r) && r.ValueKind == JsonValueKind.Object)
                {
                    last = $"{r.GetProperty("action").GetString()}: {r.GetProperty("reason").GetString()} {string.Join("; ", r.GetProperty("blockers").EnumerateArray().Select(b => b.GetString()))}";
                    var epoch = r.GetProperty("epoch").GetInt64();
                    if (r.GetProperty("generation").GetInt64() == generation && epoch >= first && r.GetProperty("action").GetString() == "InSync")
                    {
                        RaiseEpoch(epoch);
                        return epoch;
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException || (e is OperationCanceledException && !deadline.IsCancellationRequested)) { }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"Generation {generation} was not in place within {StartTimeout.TotalSeconds:0} s; the router's reconciler says {last}");
            }
            await Task.Delay(100, deadline.Token);
        }
    }

    /// <summary>
    /// The cluster resource's health check: Unhealthy before the cluster serves or while a shard of the layout
    /// has no running replica, Degraded while a shard runs fewer replicas than it has, Healthy otherwise.
    /// </summary>
    internal Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult ReplicaHealth()
    {
        if (!_serving.Task.IsCompletedSuccessfully)
            return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("the declared view is not in place yet");
        var shards = _layout.Select(kv => (Shard: kv.Key, Total: kv.Value.Length, Running: kv.Value.Count(IsAlive))).OrderBy(s => s.Shard, StringComparer.Ordinal).ToList();
        var dark = shards.Where(s => s.Running == 0).ToList();
        if (dark.Count > 0)
            return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy(
                $"no running replica in {string.Join(", ", dark.Select(s => s.Shard))}: its keys cannot be read or written");
        var thin = shards.Where(s => s.Running < s.Total).ToList();
        if (thin.Count > 0)
            return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Degraded(
                string.Join("; ", thin.Select(s => $"{s.Shard} runs {s.Running} of {s.Total} replicas")));
        return Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy($"{shards.Count} shards, every replica running");
    }

    /// <summary>True while the node's current run answers (it joined, or is joining, the cluster).</summary>
    public bool IsRunning(int id) => IsAlive(id);

    private bool IsAlive(int id) => _runs.TryGetValue(id, out var run) && run.IsCurrent && run.Alive;

    /// <summary>Waits until the node's current run has joined: it answers as itself, has its cuts back, and (with a reconciler) holds the declared view.</summary>
    public async Task WaitForJoinAsync(int id, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (_runs.TryGetValue(id, out var run) && run.IsCurrent)
            {
                await run.Joined.Task.WaitAsync(ct);
                return;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{_kv.Node(id).Name} did not start within {StartTimeout.TotalSeconds:0} s.");
            await Task.Delay(50, ct);
        }
    }

    /// <summary>Adds a shard made of spare nodes (started when stopped) to the declaration; the router moves its keys to it.</summary>
    public async Task<string> AddShardAsync(CancellationToken ct = default)
    {
        if (_kv.Reconciler is null) throw new InvalidOperationException($"Adding a shard needs a router reconciling {_kv.Name} (WithClusterDeclaration).");
        var replicas = Math.Max(1, _kv.Nodes / _kv.Shards);
        var used = _layout.Values.SelectMany(x => x).ToHashSet();
        var spares = _kv.AllNodes.Where(n => !used.Contains(n.Id)).OrderBy(n => IsAlive(n.Id) ? 0 : 1).ThenBy(n => n.Id).Take(replicas).ToList();
        if (spares.Count < replicas)
            throw new InvalidOperationException($"Adding a shard needs {replicas} nodes outside the view; {spares.Count} are left. Declare more with WithSpareNodes(n) (AppHost: --spares n).");
        foreach (var spare in spares.Where(n => !IsAlive(n.Id)))
        {
            var started = await _commands.ExecuteCommandAsync(spare.Resource, KnownResourceCommands.StartCommand, ct);
            if (!started.Success) throw new InvalidOperationException($"{spare.Name} did not start: {started.Message}");
        }
        foreach (var spare in spares) await WaitForJoinAsync(spare.Id, ct);
        var layout = ClusterLayout.WithShard(_layout, spares.Select(n => n.Id).ToArray());
        var epoch = await DeclareAsync(layout, ct);
        return $"Generation {Generation}, view epoch {epoch}: {ClusterLayout.Describe(layout)}";
    }

    /// <summary>Declares the layout without the highest shard: the router moves its keys to the others, then its nodes are stopped and become spares.</summary>
    public async Task<string> RemoveShardAsync(CancellationToken ct = default)
    {
        if (_kv.Reconciler is null) throw new InvalidOperationException($"Removing a shard needs a router reconciling {_kv.Name} (WithClusterDeclaration).");
        var (layout, freed) = ClusterLayout.WithoutLastShard(_layout);
        var epoch = await DeclareAsync(layout, ct);
        foreach (var id in freed)
        {
            var stopped = await _commands.ExecuteCommandAsync(_kv.Node(id).Resource, KnownResourceCommands.StopCommand, ct);
            if (!stopped.Success) _log.LogWarning("{Node} left the view but did not stop: {Reason}", _kv.Node(id).Name, stopped.Message);
        }
        return $"Generation {Generation}, view epoch {epoch}: {ClusterLayout.Describe(layout)}; stopped {string.Join(", ", freed.Select(id => _kv.Node(id).Name))}";
    }

    /// <summary>Cuts the link between two nodes both ways.</summary>
    public Task CutAsync(int a, int b, CancellationToken ct = default) => ChangeLinkAsync(a, b, cut: true, ct);

    public Task HealAsync(int a, int b, CancellationToken ct = default) => ChangeLinkAsync(a, b, cut: false, ct);

    /// <summary>Cuts a node from every other node of the cluster; returns the nodes it lost.</summary>
    public async Task<int[]> IsolateAsync(int id, CancellationToken ct = default)
    {
        var others = _kv.AllNodes.Where(n => n.Id != id).Select(n => n.Id).ToArray();
        foreach (var other in others) await CutAsync(id, other, ct);
        _log.LogInformation("{Node} cut from {Peers}", _kv.Node(id).Name, string.Join(", ", others.Select(o => _kv.Node(o).Name)));
        return others;
    }

    /// <summary>Heals every cut link of a node; returns the nodes it reaches again.</summary>
    public async Task<int[]> RejoinAsync(int id, CancellationToken ct = default)
    {
        int[] peers;
        lock (_cuts) peers = _cuts.TryGetValue(id, out var set) ? [.. set.Order()] : [];
        foreach (var peer in peers) await HealAsync(id, peer, ct);
        _log.LogInformation("{Node} healed: reaches {Peers} again", _kv.Node(id).Name, peers.Length == 0 ? "(no link was cut)" : string.Join(", ", peers.Select(p => _kv.Node(p).Name)));
        return peers;
    }

    public async Task HealAllAsync(CancellationToken ct = default)
    {
        int[] nodes;
        lock (_cuts) { nodes = [.. _cuts.Keys]; _cuts.Clear(); }
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
        await Task.WhenAll(SetBlockedAsync(a, blockedA, ct), SetBlockedAsync(b, blockedB, ct));
        await PublishClusterAsync(null);

        int[] Update(int from, int to)
        {
            if (!_cuts.TryGetValue(from, out var set)) _cuts[from] = set = [];
            if (cut) set.Add(to); else set.Remove(to);
            return [.. set];
        }
    }

    private async Task ApplyCutsAsync(int id, CancellationToken ct)
    {
        int[] blocked;
        lock (_cuts) blocked = _cuts.TryGetValue(id, out var set) ? [.. set] : [];
        if (blocked.Length > 0) await SetBlockedAsync(id, blocked, ct, force: true);
    }

    private async Task SetBlockedAsync(int id, int[] blocked, CancellationToken ct, bool force = false)
    {
        if (!force && !IsAlive(id)) return; // a stopped node gets its cuts when it starts again
        var node = _kv.Node(id);
        using var response = await _http.PutAsync(new Uri(node.Url, "/admin/faults"), JsonContent.Create(new { blocked }), ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{node.Name} refused the fault setting: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    }

    /// <summary>Kills a node's process at once (SIGKILL: no shutdown code runs, as on a crash) and waits until it is gone.</summary>
    public async Task<int> KillAsync(int id, CancellationToken ct = default)
    {
        var node = _kv.Node(id);
        if (!IsAlive(id)) throw new InvalidOperationException($"{node.Name} is not running.");
        var status = await GetStatusAsync(id, ct);
        var pid = NodeStatusSummary.Parse(status).Pid;
        using (var process = Process.GetProcessById(pid)) process.Kill();
        await _notifications.WaitForResourceAsync(node.Name,
            e => e.Snapshot.State?.Text is { } s && s != KnownResourceStates.Running && s != KnownResourceStates.Starting, ct);
        // The watch loop sees the same state change on its own time; once this returns the node counts as stopped.
        if (_runs.TryGetValue(id, out var run) && run.End()) _statuses.TryRemove(id, out _);
        _log.LogInformation("{Node} killed (SIGKILL, pid {Pid})", node.Name, pid);
        return pid;
    }

    /// <summary>A node's <c>GET /admin/status</c> document.</summary>
    public async Task<JsonElement> GetStatusAsync(int id, CancellationToken ct = default) =>
        await _http.GetFromJsonAsync<JsonElement>(new Uri(_kv.Node(id).Url, "/admin/status"), ct);

    /// <summary>Every few seconds: each running node's shard, epoch, keys and lag as properties on its resource.</summary>
    private async Task PublishStatusAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(StatusInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                foreach (var node in _kv.AllNodes.Where(n => IsAlive(n.Id)))
                {
                    try
                    {
                        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        attempt.CancelAfter(TimeSpan.FromSeconds(1));
                        var summary = NodeStatusSummary.Parse(await GetStatusAsync(node.Id, attempt.Token));
                        _statuses[node.Id] = summary;
                        RaiseEpoch(summary.Epoch);
                        await _notifications.PublishUpdateAsync(node.Resource, s => s with { Properties = With(s.Properties, NodeProperties(summary)) });
                    }
                    catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !ct.IsCancellationRequested)) { }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
    }

    private static IEnumerable<ResourcePropertySnapshot> NodeProperties(NodeStatusSummary s) =>
    [
        new("causalkv.shard", s.Shard ?? "(not in the view)"),
        new("causalkv.epoch", s.Epoch),
        new("causalkv.keys", s.Keys),
        new("causalkv.missing-from-peers", s.MissingFromPeers),
        new("causalkv.caught-up", s.CaughtUp),
        new("causalkv.cut-from", s.Blocked.Length == 0 ? "none" : string.Join(", ", s.Blocked.Select(b => $"node{b}"))),
    ];

    private Task PublishClusterAsync(string? state) =>
        _notifications.PublishUpdateAsync(_kv, s => s with
        {
            State = state is null ? s.State : new ResourceStateSnapshot(state, KnownResourceStateStyles.Success),
            Properties = With(s.Properties,
            [
                new("causalkv.epoch", Epoch),
                new("causalkv.layout", ClusterLayout.Describe(_layout)),
                new("causalkv.cuts", DescribeCuts()),
            ]),
        });

    private string DescribeCuts()
    {
        var pairs = Cuts.SelectMany(kv => kv.Value.Where(b => kv.Key < b).Select(b => $"{kv.Key}-{b}")).ToArray();
        return pairs.Length == 0 ? "none" : string.Join(" ", pairs);
    }

    private static ImmutableArray<ResourcePropertySnapshot> With(ImmutableArray<ResourcePropertySnapshot> properties, IEnumerable<ResourcePropertySnapshot> updates)
    {
        var result = properties.IsDefault ? [] : properties;
        foreach (var update in updates)
        {
            var index = result.IndexOf(result.FirstOrDefault(p => p.Name == update.Name)!);
            result = index >= 0 ? result.SetItem(index, update) : result.Add(update);
        }
        return result;
    }

    private CausalKvNode? NodeOf(IResource resource) => _kv.AllNodes.FirstOrDefault(n => ReferenceEquals(n.Resource, resource));


    private void Cleanup()
    {
        if (_kv.DataDirectory is null && _dataRoot.IsValueCreated)
        {
            try { Directory.Delete(_dataRoot.Value, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        _http?.Dispose();
    }

    /// <summary>One run of a node resource, from Running until it stops; joining happens once per run.</summary>
    private sealed class NodeRun
    {
        private int _running;

        public bool IsCurrent => Volatile.Read(ref _running) == 1;

        public bool Alive { get; set; }

        public TaskCompletionSource Joined { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Begin()
        {
            if (Interlocked.Exchange(ref _running, 1) == 1) return false;
            if (Joined.Task.IsCompleted) Joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return true;
        }

        public bool End()
        {
            Alive = false;
            return Interlocked.Exchange(ref _running, 0) == 1;
        }
    }
}
