using CausalKv.Http;
using CausalKv.Router;
using CausalKv.Router.Api;
using CausalKv.Router.Cluster;
using CausalKv.Router.Reconciliation;
using CausalKv.Router.Telemetry;

// appsettings.json sits next to the binary; without this, starting the router from another directory would drop it
// (and with it the Warning level for per-request framework logs, which costs more than the forwarding itself).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.UseInlineIo();
builder.DisableTelemetryWithoutExporter();
builder.AddServiceDefaults();
builder.AddRouterOptions();
builder.Services.AddViewDiscovery();
builder.AddClusterReconciler();
builder.Services.AddReplicaHealth();
builder.Services.AddShardForwarding();

var app = builder.Build();

// Outermost, so it sees the JSON error pages' answers too.
app.UseMiddleware<RefusalMiddleware>();
app.UseJsonErrorPages();
// Keys come from the raw request target, so they are read before routing (which sees Kestrel's decoded path).
app.UseDataKeys();
app.UseRouting();
app.MapGet("/ping", () => Results.Json(new { message = "pong" }));
app.MapDefaultEndpoints();
app.MapDataRoutes();
app.MapViewApi();
app.MapDeclarationApi();
app.MapClusterPage();

app.Run();
