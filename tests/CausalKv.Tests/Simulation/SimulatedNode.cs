using System.Diagnostics.Metrics;
using CausalKv.Causality;
using CausalKv.Node.Api;
using CausalKv.Node.Cluster;
using CausalKv.Node.Configuration;
using CausalKv.Node.Hosting;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Sharding;
using CausalKv.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// One node of the simulated cluster, built from the node's own classes (<see cref="NodeProtocol.AddNodeProtocol"/>:
/// replication, gossip, handoff, view changes, the fence, the stray-key sweeper, the read gate, the data API's decisions
/// and the rotation of forwarded requests), wired to the simulated
/// clock (<see cref="SimulatedClock"/>), network (<see cref="SimulatedTransport"/>, <see cref="PeerEndpoints"/>) and
/// disk, and running on the simulation's one thread (<see cref="SimulatedScheduler"/>). What survives a crash is what
/// survives one of the process: the store's table and the membership file. A restart builds the node again and
/// resumes it the way the node's Program does.
/// </summary>
internal sealed class SimulatedNode(int id, string dataDirectory, SimulatedNetwork network, SimulationTrace trace, SimulatedClock clock, bool prunesMetadata)
{
    /// <summary>Log entries per replication batch and keys per snapshot page or handoff chunk: small, so batches split.</summary>
    public const int BatchEntries = 6;
    public const long GossipInterval = 60;
    /// <summary>
    /// What the replication log may take (ReplicaStore.LogBytesLimit): about 14 writes of short keys, so that a peer cut
    /// off or down for a while falls below the log and is caught up by a scan of the store.
    /// </summary>
    public const long LogBytesLimit = 512;

    /// <summary>
    /// How long a forwarded request waits for one replica's answer before the rotation tries the next: past a packet's
    /// longest delay both ways, as a simulated node answers a data request at once.
    /// </summary>
    public static readonly TimeSpan ForwardTimeout = TimeSpan.FromMilliseconds(400);

    /// <summary>The node's settings, its pace quickened to the simulation's (the node: 250 ms gossip, 5 s requests, 30 s waits and handoff retries).</summary>
    private readonly NodeOptions _options = new()
    {
        NodeId = id,
        SignMetadata = false,
        GossipInterval = TimeSpan.FromMilliseconds(GossipInterval),
        PeerRequestTimeout = TimeSpan.FromMilliseconds(150),
        CausalWaitDeadline = TimeSpan.FromSeconds(10),
        ReplicationBatchEntries = BatchEntries,
        PruneMetadata = prunesMetadata,
    };

    /// <summary>
    /// What the node's storage engine keeps across crashes: every commit, as a durable table promises (a crash in the
    /// simulation falls between events, never inside a commit). The engine itself is tested on its own.
    /// </summary>
    private readonly MemoryVersionTable _disk = new();

    private Life? _life;
    private long _shedBefore;
    private int _scansBefore;
    private int _fenceTimeoutsBefore;

    /// <summary>One run of the node's process: its object graph, and where its async code runs.</summary>
    private sealed record Life(SimulatedScheduler Scheduler, ServiceProvider Services, ReplicaStore Store, ClusterState Cluster,
        ReplicationCoordinator Replication, HandoffFence Fence, ViewChanger Changer, PeerEndpoints Endpoints,
        StrayKeySweeper Sweeper, DataRequests Requests, ReplicaRotation Rotation, MeterListener Scans)
    {
        /// <summary>Clients whose requests this life has not answered yet: a crash resets their connections.</summary>
        public readonly List<Action<SimulatedDataAnswer?>> Clients = [];
        public int ScansStarted;
        public int ViewChangesRunning;
    }

    public SimulatedClock Clock => clock;

    public int Id { get; } = id;

    public bool IsUp => _life is not null;

    public ReplicaStore? Store => _life?.Store;

    public ShardView? View => _life?.Cluster.Current.View;

    public string? Shard => _life?.Cluster.Current.MyShard;

    /// <summary>The departed nodes its <c>GET /view</c> names: those its views left out that its fence still waits for.</summary>
    public IReadOnlyList<DepartedNode> Departed =>
        _life is { } life ? ViewApi.Departed(life.Services.GetRequiredService<MembershipFile>(), life.Fence) : [];

    /// <summary>Log entries this node's stores dropped over their bound, in every life of the node so far.</summary>
    public long LogEntriesShed => _shedBefore + (_life?.Store.LogEntriesShed ?? 0);

    /// <summary>Peers caught up by a scan of the store since the simulation began.</summary>
    public int Scans => _scansBefore + (_life?.ScansStarted ?? 0);

    /// <summary>Fences lifted at their timeout, without the reports they waited for, in every life of the node so far.</summary>
    public int FencesLiftedByTimeout => _fenceTimeoutsBefore + (_life?.Sweeper.FencesLiftedByTimeout ?? 0);

    /// <summary>View changes (PUT /view) this node has received and not finished.</summary>
    public int ViewChangesRunning => _life?.ViewChangesRunning ?? 0;

    /// <summary>False while this replica, new to its shard, has not caught up with a peer.</summary>
    public bool CaughtUp => _life!.Replication.CaughtUp;

    /// <summary>Starts the process: builds the node, resumes it from its store and membership file, then follows <paramref name="view"/>.</summary>
    public void Start(ShardView? view)
    {
        var scheduler = new SimulatedScheduler(network);
        clock.Scheduler = scheduler;
        var services = new ServiceCollection()
            .AddLogging(b => b.ClearProviders().AddProvider(new TraceLoggerProvider(Id, network, trace)).SetMinimumLevel(LogLevel.Information))
            .AddMetrics()
            .AddSingleton(Options.Create(_options))
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton(sp => new NodeIdentity(sp.GetRequiredService<IOptions<NodeOptions>>(), new ConfigurationBuilder().Build()))
            .AddSingleton(sp => new ReplicaStore(clock, _disk, LogBytesLimit))
            .AddSingleton(new MembershipFile(dataDirectory))
            .AddSingleton<IPeerTransport>(new SimulatedTransport(network, Id, _options.PeerRequestTimeout))
            .AddSingleton<IHostApplicationLifetime>(new SimulatedLifetime())
            .AddNodeProtocol()
            .BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var scans = new MeterListener();
        Life? life = null;
        scans.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name == "causalkv.replication.scans") listener.EnableMeasurementEvents(instrument);
        };
        scans.SetMeasurementEventCallback<long>((_, value, _, _) => { if (life is not null) life.ScansStarted += (int)value; });
        scans.Start();
        life = new Life(scheduler, services, services.GetRequiredService<ReplicaStore>(), services.GetRequiredService<ClusterState>(),
            services.GetRequiredService<ReplicationCoordinator>(), services.GetRequiredService<HandoffFence>(),
            services.GetRequiredService<ViewChanger>(), services.GetRequiredService<PeerEndpoints>(),
            services.GetRequiredService<StrayKeySweeper>(), services.GetRequiredService<DataRequests>(),
            services.GetRequiredService<ReplicaRotation>(), scans);
        _life = life;
        life.Cluster.Changed += (_, now) => { if (now.View is { } installed) ViewInstalled?.Invoke(Id, installed); };
        scheduler.Run(() =>
        {
            services.ResumeNodeProtocol(lostState: false);
            foreach (var hosted in services.GetServices<IHostedService>()) hosted.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        });
        trace.Add(network.Now, $"node {Id} starts: {life.Store.Recovered} keys recovered, origin {Describe(life.Store.Origin)}");
        if (view is not null) InstallView(view);
    }

    /// <summary>The process dies: whatever is not in its store's table or its membership file is gone, and nothing of it runs again.</summary>
    public void Crash()
    {
        if (_life is not { } life) return;
        trace.Add(network.Now, $"node {Id} crashes");
        Drop(life);
    }

    private void Drop(Life life)
    {
        life.Scheduler.Stop();
        _shedBefore += life.Store.LogEntriesShed;
        _scansBefore += life.ScansStarted;
        _fenceTimeoutsBefore += life.Sweeper.FencesLiftedByTimeout;
        life.Scans.Dispose();
        life.Store.Dispose();
        // The meters only: disposing the services would stop the node's loops, which a killed process never does.
        life.Services.GetRequiredService<IMeterFactory>().Dispose();
        _life = null;
        foreach (var client in life.Clients.ToList()) client(null);
        life.Clients.Clear();
    }

    public void Stop()
    {
        if (_life is { } life) Drop(life);
    }

    private static string Describe(long origin) => $"{OriginId.NodeOf(origin)}.{OriginId.IncarnationOf(origin)}";

    /// <summary>Called with this node's id and the view at the instant the node installs one (or resumes it at a start).</summary>
    public Action<int, ShardView>? ViewInstalled { get; set; }

    /// <summary>
    /// A <c>POST /view/prepare</c> reaches this node: the node's <see cref="ViewChanger.Prepare"/>, answered at once with
    /// the status and the highest epoch the node installed or promised; null when the node is down (the connection is refused).
    /// </summary>
    public (int Status, long Holds)? PrepareView(ShardView view)
    {
        if (_life is not { } life) return null;
        var result = life.Changer.Prepare(view);
        trace.Add(network.Now, $"node {Id} answers POST /view/prepare epoch {view.Epoch}: " +
            (result.Promised ? "200" : $"409, holds epoch {result.Holds}: {result.Error}"));
        return (result.Promised ? 200 : 409, result.Holds);
    }

    /// <summary>
    /// A <c>PUT /view</c> reaches this node: the node's <see cref="ViewChanger.ApplyAsync"/>, which answers once its
    /// handoff is done, with the status and the epoch the node holds then (<paramref name="answered"/>; never when it crashed first).
    /// </summary>
    public void InstallView(ShardView view, Action<int, long>? answered = null)
    {
        if (_life is not { } life) return;
        life.Scheduler.Run(() =>
        {
            life.ViewChangesRunning++;
            _ = ApplyAsync();

            async Task ApplyAsync()
            {
                try
                {
                    var result = await life.Changer.ApplyAsync(view, epochGiven: true, CancellationToken.None);
                    var status = result.Stale ? 409 : result.Errors.Count == 0 ? 200 : 503;
                    trace.Add(network.Now, $"node {Id} answers PUT /view epoch {view.Epoch}: " +
                        (result.Stale ? "409" : result.Errors.Count == 0 ? $"200, {result.KeysHandedOff} keys handed off" : $"503 ({string.Join("; ", result.Errors)})"));
                    if (_life == life) answered?.Invoke(status, result.Epoch);
                }
                finally
                {
                    life.ViewChangesRunning--;
                }
            }
        });
    }

    /// <summary>
    /// A request from another node: a forwarded data request to the node's data API (<see cref="HandleAsync"/>), any
    /// other to the node's <see cref="PeerEndpoints"/>; its answer back over the network.
    /// </summary>
    public void Receive(SimulatedMessage request)
    {
        if (_life is not { } life) return;
        if (request.Path.StartsWith("/data/", StringComparison.Ordinal))
        {
            life.Scheduler.Run(() => _ = ServeDataAsync());
            return;
        }
        life.Scheduler.Run(() => _ = ServeAsync());

        async Task ServeDataAsync() =>
            network.Answer(request, (await HandleAsync(life, SimulatedDataRequest.FromBytes(request.Body!))).ToBytes());

        async Task ServeAsync()
        {
            byte[]? answer;
            try
            {
                answer = await life.Endpoints.HandleAsync(request.Path, request.Body!, CancellationToken.None);
            }
            catch (Exception e)
            {
                trace.Add(network.Now, $"node {Id} failed to handle {request}: {e.GetType().Name}: {e.Message}");
                answer = null;
            }
            network.Answer(request, answer);
        }
    }

    /// <summary>The fence's pending layers, for a violation message: epoch, old shard, nodes yet to report, writes still lacked.</summary>
    public string DescribeFence()
    {
        var life = _life!;
        var applied = life.Store.AppliedSnapshot();
        return string.Join("; ", life.Fence.State.Layers.SelectMany(l => l.Pending.Select(p =>
            $"epoch {l.Epoch} from {p.Shard}: waits for nodes [{string.Join(",", p.Outstanding.Order())}], lacks " +
            string.Join(",", p.Requires.Where(r => applied.Get(r.Key) < r.Value).Select(r => $"{Describe(r.Key)}:{applied.Get(r.Key)}<{r.Value}")))));
    }

    public bool FenceAnyPending() => _life!.Scheduler.Run(() => _life.Fence.AnyPending);

    // ---- the data API: a client's request, or one another node forwarded ----

    /// <summary>
    /// Where an executed write goes into the history, as it is stored: the request, the version stored, its origin and
    /// this node's id. What it returns (the entry) travels back with the answer, so the client can mark the write acknowledged.
    /// </summary>
    public Func<SimulatedDataRequest, StoredVersion, long, int, int>? Executed { get; set; }

    /// <summary>
    /// A client's request reaches this node: it is decided as the node's data API decides it (<see cref="DataRequests"/>),
    /// forwarded over the network when the key belongs to another shard, and <paramref name="answer"/> is called with
    /// the answer, or with null when the node is down or crashes first (the client's connection is reset).
    /// </summary>
    public void Request(SimulatedDataRequest request, Action<SimulatedDataAnswer?> answer)
    {
        if (_life is not { } life)
        {
            answer(null);
            return;
        }
        life.Clients.Add(answer);
        life.Scheduler.Run(() => _ = ServeAsync());

        async Task ServeAsync()
        {
            var served = await HandleAsync(life, request);
            if (life.Clients.Remove(answer)) answer(served);
        }
    }

    /// <summary>
    /// What the node's <see cref="Api.DataEndpoints"/> do with a data request, over the simulation's transport: a request
    /// forwarded under a newer view is not answered under an older one, a node outside the view does not serve, and
    /// then the decision is carried out. Where the node would hold a request, the simulated one answers at once and is
    /// asked again: one forwarded under a view it has not installed yet is answered as at the end of that wait (the
    /// forwarder's rotation tries again, by when the view has come), and a read that must wait names what it lacks (the
    /// client asks again a little later).
    /// </summary>
    private async Task<SimulatedDataAnswer> HandleAsync(Life life, SimulatedDataRequest request)
    {
        var requests = life.Requests;
        if (requests.ViewToAwait(request.Epoch) is { } sent)
            return new SimulatedDataAnswer(503, null, null, requests.BehindView(sent), Id, NotServing: "behind-view");
        if (requests.NotServing(life.Cluster.Current) is var (reason, error))
            return new SimulatedDataAnswer(503, null, null, error, Id, NotServing: reason);
        var decision = request.Method switch
        {
            SimulatedDataRequest.Get => requests.Read(request.Key, request.Dependencies),
            SimulatedDataRequest.Put => requests.Write(request.Key, request.Value!, request.Dependencies),
            _ => requests.Delete(request.Key, request.Dependencies),
        };
        switch (decision)
        {
            case DataDecision.Forward forward:
                return await ForwardAsync(life, request, forward);
            case DataDecision.Wait wait:
                return new SimulatedDataAnswer(503, null, null, null, Id, Missing: wait.Missing() ?? "a view being installed");
            default:
                var answer = (DataDecision.Answer)decision;
                int? execution = request.IsWrite && answer.Status != 404 ? Executed?.Invoke(request, answer.Version!, life.Store.Origin, Id) : null;
                return new SimulatedDataAnswer(answer.Status, answer.Value, answer.Metadata, answer.Error, Id, answer.Version?.Tag ?? default, execution);
        }
    }

    /// <summary>
    /// The forward of <see cref="Api.ShardForwarder"/>: to the replicas of the key's shard in the node's
    /// <see cref="ReplicaRotation"/>, each attempt a request over the simulated network that another node decides again.
    /// </summary>
    private async Task<SimulatedDataAnswer> ForwardAsync(Life life, SimulatedDataRequest request, DataDecision.Forward forward)
    {
        if (ReplicaRotation.LoopDetected(request.Hops, forward.Shard) is { } loop)
            return new SimulatedDataAnswer(508, null, null, loop, Id);
        var onward = (request with { Hops = request.Hops + 1, Epoch = forward.Membership.Epoch }).ToBytes();
        var (answer, _, attempts) = await life.Rotation.SendAsync(forward.Membership.View!.NodesOf(forward.Shard), async node =>
        {
            try
            {
                var answer = SimulatedDataAnswer.FromBytes(await network.RequestAsync(Id, node.Id, request.Path, onward, ForwardTimeout, CancellationToken.None));
                return answer.NotServing is null ? answer : null;
            }
            catch (Exception e) when (e is TimeoutException or HttpRequestException)
            {
                return null;
            }
        }, CancellationToken.None);
        return answer ?? new SimulatedDataAnswer(503, null, null, $"Shard '{forward.Shard}' has no reachable replica (tried {attempts} times).", Id);
    }
}
