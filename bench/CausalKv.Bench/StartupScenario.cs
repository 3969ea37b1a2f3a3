using System.Diagnostics;
using CausalKv.Tests.Distributed;

namespace CausalKv.Bench;

/// <summary>
/// How long a user waits for a cluster: <c>dotnet run --project src/CausalKv.AppHost --no-build</c> (the default 6 nodes
/// in 3 shards, the router and the dashboard) until it prints <c>Router:</c>, and Aspire.Hosting.Testing starting the AppHost with
/// a 4-node cluster until the view is installed and the router is healthy. Each is measured
/// <see cref="Rounds"/> times, alternating; the table shows the median and the range. The AppHost's own start-up (the
/// <c>dotnet run</c> driver, DCP and the dashboard) is part of the first figure, as a user sees it.
/// </summary>
internal static class StartupScenario
{
    private const int Rounds = 3;

    public static async Task RunAsync(Report report)
    {
        var apphost = new List<double>();
        var testing = new List<double>();
        for (var round = 1; round <= Rounds; round++)
        {
            Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
            apphost.Add(await AppHostToRouterReadyAsync());
            testing.Add(await TestingApiStartAsync());
            Console.WriteLine($"  dotnet run -> Router: {apphost[^1]:0} ms; Aspire.Hosting.Testing, 4 nodes: {testing[^1]:0} ms");
        }
        report.Add(Row("dotnet run --project src/CausalKv.AppHost (6 nodes, 3 shards, router, dashboard) until \"Router:\"", apphost));
        report.Add(Row("DistributedApplicationTestingBuilder: AppHost with 4 nodes in 2 shards until serving", testing));
        report.Data["apphostMs"] = apphost;
        report.Data["testingApiMs"] = testing;
    }

    private static Dictionary<string, object?> Row(string what, List<double> ms)
    {
        var sorted = ms.Order().ToList();
        return new()
        {
            ["what"] = what,
            ["median (ms)"] = sorted[sorted.Count / 2],
            ["min (ms)"] = sorted[0],
            ["max (ms)"] = sorted[^1],
            ["runs"] = ms.Count,
        };
    }

    private static async Task<double> AppHostToRouterReadyAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                "run", "--no-build", "-c", Configuration, "--project", Path.Combine(BenchPaths.Repository, "src", "CausalKv.AppHost"),
            },
            Environment =
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreeLoopbackPort()}",
                ["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{FreeLoopbackPort()}",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = BenchPaths.Repository,
        };
        var ready = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Router: http", StringComparison.Ordinal) == true) ready.TrySetResult(clock.Elapsed.TotalMilliseconds);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"  [apphost] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(_ => ready.TrySetException(new InvalidOperationException("The AppHost exited before the router was ready.")), TaskScheduler.Default);
        try
        {
            return await ready.Task.WaitAsync(TimeSpan.FromMinutes(5));
        }
        finally
        {
            // SIGTERM to the AppHost (the child of dotnet run), as a service manager would: it stops every node and
            // the router before it exits, and dotnet run exits with it.
            if (!process.HasExited)
            {
                using (var kill = Process.Start("pkill", ["-TERM", "-P", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
                try { await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60)); }
                catch (TimeoutException) { process.Kill(entireProcessTree: true); }
            }
        }
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<double> TestingApiStartAsync()
    {
        var clock = Stopwatch.StartNew();
        await using var app = await KvApp.Create(nodes: 4, shards: 2).StartAsync();
        return clock.Elapsed.TotalMilliseconds;
    }
}
