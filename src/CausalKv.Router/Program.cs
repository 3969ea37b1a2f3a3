using CausalKv.Router;
using CausalKv.Router.Api;
using CausalKv.Router.Cluster;

// appsettings.json sits next to the binary; without this, starting the router from another directory would drop it
// (and with it the Warning level for per-request framework logs, which costs more than the forwarding itself).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.UseInlineIo();
builder.DisableTelemetryWithoutExporter();
builder.AddServiceDefaults();
builder.AddRouterOptions();
builder.Services.AddViewDiscovery();
builder.Services.AddReplicaHealth();
builder.Services.AddShardForwarding();

var app = builder.Build();

app.UseJsonErrorPages();
app.MapGet("/ping", () => Results.Json(new { message = "pong" }));
app.MapDefaultEndpoints();
app.MapDataRoutes();
app.MapViewApi();
app.MapClusterPage();

app.Run();
