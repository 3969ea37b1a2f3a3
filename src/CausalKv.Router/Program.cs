using CausalKv.Router;
using CausalKv.Router.Api;

var builder = WebApplication.CreateBuilder(args);
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

app.Run();
