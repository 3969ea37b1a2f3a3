using CausalKv.Node.Api;
using CausalKv.Node.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Faults;
using CausalKv.Node.Hosting;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

builder.Services.AddOptions<NodeOptions>()
    .Bind(builder.Configuration.GetSection(NodeOptions.Section))
    .ValidateDataAnnotations()
    .Validate(o => o.GossipInterval > TimeSpan.Zero && o.PeerConnectTimeout > TimeSpan.Zero && o.CausalWaitDeadline > TimeSpan.Zero,
        "CausalKv: GossipInterval, PeerConnectTimeout and CausalWaitDeadline must be positive.")
    .ValidateOnStart();

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<NodeIdentity>();
builder.Services.AddSingleton(sp => new FaultInjector(sp.GetRequiredService<IOptions<NodeOptions>>().Value.EnableFaultInjection));
builder.Services.AddSingleton<NodeTelemetry>();
builder.Services.AddSingleton<ClusterState>();
builder.Services.AddSingleton<ReplicaStore>();
builder.Services.AddSingleton<PeerClient>();
builder.Services.AddSingleton<ReplicationCoordinator>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<ReplicationCoordinator>());
builder.Services.AddSingleton<HandoffFence>();
builder.Services.AddSingleton<Handoff>();
builder.Services.AddSingleton<ViewChanger>();
builder.Services.AddHostedService<StrayKeySweeper>();
builder.Services.AddSingleton<CausalWaiter>();
builder.Services.AddSingleton<ShardForwarder>();
builder.Services.AddSingleton<DataEndpoints>();
builder.Services.AddHealthChecks().AddCheck<ViewHealthCheck>("cluster");

var app = builder.Build();

var identity = app.Services.GetRequiredService<NodeIdentity>();
var store = app.Services.GetRequiredService<ReplicaStore>();
store.StartIncarnation(identity.NodeId);
if (store.Durable)
    app.Logger.LogInformation("Write-ahead log in {Directory}: recovered {Keys} keys", app.Configuration["CausalKv:DataDirectory"], store.Recovered);
else
    app.Logger.LogWarning("No data directory (CausalKv:DataDirectory): writes live in memory until replicated, and a crash loses those not yet replicated.");
if (identity.ClusterKey is null)
    app.Logger.LogWarning("No cluster key configured (CausalKv:ClusterKey): node-to-node and cluster-changing endpoints accept anyone who can reach this node.");
if (app.Services.GetRequiredService<FaultInjector>().Enabled)
    app.Logger.LogWarning("Fault injection is enabled: PUT /admin/faults can cut this node off from others.");

// No request may crash the node: anything unforeseen is a JSON 500 and the node goes on.
app.UseExceptionHandler(error => error.Run(context =>
    JsonResponses.ErrorAsync(context.Response, StatusCodes.Status500InternalServerError,
        "The node failed to handle this request; the node log has the details.")));
app.UseMiddleware<ClusterGuard>();
app.MapGet("/ping", () => Results.Json(new { message = "pong" }));
app.MapDefaultEndpoints();
app.MapDataApi();
app.MapViewApi();
app.MapAdminApi();
app.MapInternalApi();

app.Run();

public partial class Program;
