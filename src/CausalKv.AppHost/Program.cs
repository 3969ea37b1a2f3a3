using System.Runtime.InteropServices;
using CausalKv.AppHost.Dashboard;
using CausalKv.AppHost.Orchestration;
using CausalKv.AppHost.Telemetry;

// The application model: N store nodes in S shards behind one router, with a
// dashboard. `dotnet run --project CausalKv.AppHost -- --nodes 6 --shards 3`.
var config = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args, new Dictionary<string, string>
    {
        ["--nodes"] = "CausalKv:AppHost:Nodes",
        ["--shards"] = "CausalKv:AppHost:Shards",
        ["--dashboard-port"] = "CausalKv:AppHost:DashboardPort",
    })
    .Build();

var options = new CausalKvAppOptions();
config.GetSection("CausalKv:AppHost").Bind(options);

await using var dashboard = new DashboardHost(config.GetValue("CausalKv:AppHost:DashboardPort", 18888));
options.OtlpEndpoint = dashboard.OtlpEndpoint;
options.OtlpApiKey = dashboard.OtlpApiKey;

await using var app = new CausalKvApp(options);
dashboard.Attach(app);
await dashboard.StartAsync();

// Ctrl+C and SIGTERM stop the cluster gracefully: the handlers cancel, and disposal below stops every process.
using var stop = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

Console.WriteLine($"Dashboard: {dashboard.LoginUrl}");
Console.WriteLine($"Telemetry: OTLP/HTTP at {dashboard.OtlpEndpoint} (API key header {OtlpReceiver.ApiKeyHeader})");
Console.WriteLine($"Starting {options.Nodes} nodes in {options.Shards} shards...");
try
{
    await app.StartAsync(stop.Token);
}
catch (Exception e) when (!stop.IsCancellationRequested)
{
    Console.Error.WriteLine(e is OperationCanceledException
        ? $"The cluster was not healthy within {options.StartTimeout.TotalSeconds:0} s (a busy machine may need more: set CausalKv__AppHost__StartTimeout, e.g. 00:03:00)."
        : $"The cluster did not start: {e.Message}");
    // What each process said last is usually the reason; the dashboard is gone once we return.
    foreach (var r in app.Resources)
    {
        Console.Error.WriteLine($"  {r.Name,-8} {r.State,-8} {r.Health,-9} exit code {r.ExitCode}");
        foreach (var line in r.Console.Since(0).TakeLast(5)) Console.Error.WriteLine($"    {line.Text}");
    }
    return 1;
}
foreach (var r in app.Resources) Console.WriteLine($"  {r.Name,-8} {r.State,-8} {r.Endpoint} pid {r.Pid}");
if (app.Router is { } router)
{
    var url = router.Endpoint.ToString().TrimEnd('/');
    Console.WriteLine($"Router: {url}");
    Console.WriteLine($"Try:    curl -s -X PUT {url}/data/hello -H 'Content-Type: application/json' -d '{{\"value\": \"world\"}}'");
}
Console.WriteLine("Press Ctrl+C to stop.");
try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
Console.WriteLine("Stopping...");
return 0;
