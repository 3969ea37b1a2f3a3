using CausalKv.Http;
using CausalKv.Node.Api;
using CausalKv.Node.Cluster;
using CausalKv.Node.Configuration;
using CausalKv.Node.Faults;
using CausalKv.Node.Hosting;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

// appsettings.json sits next to the binary; without this, a node started from another directory would not read it
// (and with it the Warning level that keeps per-request framework logs out of the console and the dashboard).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults();
// /health answers what the health checks found; the framework also logs every Unhealthy result as an error, and a node
// waiting for its first view (which the router probes) is not in error. The checks cannot throw, so nothing else is lost.
builder.Logging.AddFilter(typeof(HealthCheckService).Namespace + ".DefaultHealthCheckService", LogLevel.Critical);

builder.Services.AddOptions<NodeOptions>()
    .Bind(builder.Configuration.GetSection(NodeOptions.Section))
    .ValidateDataAnnotations()
    .Validate(o => o.GossipInterval > TimeSpan.Zero && o.PeerConnectTimeout > TimeSpan.Zero && o.CausalWaitDeadline > TimeSpan.Zero,
        "CausalKv: GossipInterval, PeerConnectTimeout and CausalWaitDeadline must be positive.")
    .ValidateOnStart();

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<NodeIdentity>();
builder.Services.AddSingleton(sp => new FaultInjector(sp.GetRequiredService<IOptions<NodeOptions>>().Value.EnableFaultInjection,
    sp.GetRequiredService<ILogger<FaultInjector>>()));
builder.Services.AddSingleton(sp => new RefusalAccounting(NodeTelemetry.Name, sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
    sp.GetRequiredService<ILogger<RefusalAccounting>>(), sp.GetRequiredService<TimeProvider>()));
builder.Services.AddSingleton(sp => NodeStorage.Open(sp.GetRequiredService<IOptions<NodeOptions>>().Value));
builder.Services.AddSingleton(sp => new ReplicaStore(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<OpenedStorage>().Table,
    sp.GetRequiredService<IOptions<NodeOptions>>().Value.ReplicationLogMegabytes * 1024L * 1024));
builder.Services.AddSingleton(sp => new MembershipFile(sp.GetRequiredService<IOptions<NodeOptions>>().Value.DataDirectory));
builder.Services.AddSingleton<PeerClient>();
builder.Services.AddSingleton<IPeerTransport>(sp => sp.GetRequiredService<PeerClient>());
builder.Services.AddNodeProtocol();
// After the protocol, so it stops first: the replication links are still up while it waits for the peers' acknowledgements.
builder.Services.AddHostedService<ShutdownDrain>();
builder.Services.AddSingleton<ShardForwarder>();
builder.Services.AddSingleton<LargeRequestGate>();
builder.Services.AddSingleton<DataEndpoints>();
builder.Services.AddHealthChecks().AddCheck<ViewHealthCheck>("cluster");

var app = builder.Build();

var identity = app.Services.GetRequiredService<NodeIdentity>();
var store = app.Services.GetRequiredService<ReplicaStore>();
var storage = app.Services.GetRequiredService<OpenedStorage>();
app.Services.ResumeNodeProtocol(storage.LostState);
NodeLog.StorageOpened(app.Logger, storage.Description, store.Recovered, store.AppliedSnapshot().Sum(kv => kv.Value));
if (storage.Imported is { } imported)
    NodeLog.LegacyLogImported(app.Logger, imported.Keys, imported.TornTail);
if (storage.SetAside is { } aside)
    NodeLog.StoreSetAside(app.Logger, aside);
if (!store.Durable)
    NodeLog.NoDataDirectory(app.Logger);
if (identity.ClusterKey is null)
    NodeLog.NoClusterKey(app.Logger);
if (app.Services.GetRequiredService<FaultInjector>().Enabled)
    NodeLog.FaultInjectionEnabled(app.Logger);

// No request may crash the node: anything unforeseen is a JSON 500 and the node goes on.
app.UseExceptionHandler(error => error.Run(context =>
    JsonResponses.ErrorAsync(context.Response, StatusCodes.Status500InternalServerError,
        "The node failed to handle this request; the node log has the details.")));
app.UseMiddleware<RefusalMiddleware>();
app.UseJsonErrorPages();
app.UseMiddleware<ClusterGuard>();
// Keys come from the raw request target, so they are read before routing (which sees Kestrel's decoded path).
app.UseDataKeys();
app.UseRouting();
app.MapGet("/ping", () => Results.Json(new { message = "pong" }));
app.MapDefaultEndpoints();
app.MapDataApi();
app.MapViewApi();
app.MapAdminApi();
app.MapInternalApi();

app.Run();

public partial class Program;
