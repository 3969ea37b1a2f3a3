using System.Diagnostics;
using System.Net;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>Crashes: a node killed with SIGKILL under load, the cluster resource's health as replicas die, and no process outliving its AppHost.</summary>
public sealed class NodeFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_cluster_resource_is_degraded_while_a_shard_lost_a_replica_and_unhealthy_while_one_has_none()
    {
        await using var app = await KvApp.Create(nodes: 2, shards: 1).WithoutRouter().StartAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        async Task<string?> HealthAsync(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus status)
        {
            var e = await app.App.ResourceNotifications.WaitForResourceAsync(KvApp.ClusterName, e => e.Snapshot.HealthStatus == status, patience.Token);
            return string.Join("; ", e.Snapshot.HealthReports.Select(r => r.Description));
        }

        output.WriteLine("both replicas: " + await HealthAsync(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy));
        await app.KillResourceAsync("node1");
        var degraded = await HealthAsync(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded);
        output.WriteLine("node1 killed: " + degraded);
        Assert.Contains("runs 1 of 2 replicas", degraded);
        await app.KillResourceAsync("node0");
        var unhealthy = await HealthAsync(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy);
        output.WriteLine("both killed: " + unhealthy);
        Assert.Contains("no running replica", unhealthy);
    }

    [Fact]
    public async Task A_node_killed_under_a_stream_of_writes_leaves_the_rest_serving_and_catches_up_when_restarted()
    {
        await using var app = await KvApp.Create(nodes: 4, shards: 2).WithoutRouter().StartAsync();
        var clients = Enumerable.Range(0, 4).Select(i => app.CreateHttpClient($"node{i}")).ToArray();
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        var unknown = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>();
        var failures = 0;
        var refusals = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        // Writers on every node, the victim included; keys of both shards, so nodes forward and replicate.
        var writers = Enumerable.Range(0, 4).Select(n => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"crash-{n}-{i}";
                KvSession.Answer answer;
                try { answer = await new KvSession().PutAsync(clients[n], key, $"v{i}"); }
                catch (HttpRequestException) when (n == 0)
                {
                    // node0 is down, or died with this write in flight (it may have applied or forwarded it): not
                    // acknowledged, so the write may or may not exist.
                    unknown[key] = 0;
                    continue;
                }
                if (answer.Status is HttpStatusCode.Created or HttpStatusCode.OK) acknowledged[key] = $"v{i}";
                else if (n == 0 && answer.Status == HttpStatusCode.ServiceUnavailable) continue; // restarted, no view yet
                else
                {
                    Interlocked.Increment(ref failures);
                    refusals.Enqueue($"{key} at node{n}: {(int)answer.Status} {answer.Error}");
                }
            }
        })).ToList();

        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > 200), TimeSpan.FromSeconds(20), "writes flowing");
        await app.KillResourceAsync("node0");
        Assert.NotEqual("Running", await app.StateAsync("node0"));
        var atKill = acknowledged.Count;
        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > atKill + 300), TimeSpan.FromSeconds(20), "the rest keep serving writes");
        await app.StartResourceAsync("node0");
        await app.WaitForResourceHealthyAsync("node0");
        var afterRestart = acknowledged.Count;
        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > afterRestart + 100), TimeSpan.FromSeconds(20), "writes flow after the restart");
        stop.Cancel();
        await Task.WhenAll(writers);
        output.WriteLine($"{acknowledged.Count} writes acknowledged, {failures} refused; node0 killed and started again");
        foreach (var r in refusals.Take(10)) output.WriteLine(r);
        Assert.Equal(0, failures);

        // The restarted replica catches up with its shard: same state as node1; and no acknowledged write is lost,
        // not even those node0 acknowledged just before it was killed (its write-ahead log kept them).
        await Eventually.HoldsAsync(async () =>
            await clients[0].GetStringAsync("/admin/digest") == await clients[1].GetStringAsync("/admin/digest"),
            TimeSpan.FromSeconds(30), "node0 holds the same state as node1");
        var expected = acknowledged.ToDictionary();
        await ShardAssertions.EveryKeyOnItsOwnerAsync(app, name => clients[int.Parse(name[4..])], expected, TimeSpan.FromSeconds(30),
            unknown.Keys.ToHashSet());
        foreach (var c in clients) c.Dispose();
    }

    [Fact]
    public async Task Disposing_the_app_or_killing_the_apphost_leaves_no_process_behind()
    {
        var pids = new List<int>();
        await using (var app = await KvApp.Create(nodes: 2, shards: 1).StartAsync())
        {
            foreach (var node in app.Nodes) pids.Add((await app.GetStatusAsync(node.Name)).GetProperty("pid").GetInt32());
            Assert.All(pids, pid => Assert.True(IsAlive(pid)));
        }
        await Eventually.HoldsAsync(() => Task.FromResult(pids.All(pid => !IsAlive(pid))), TimeSpan.FromSeconds(30),
            "every node of the disposed app exits");

        // The AppHost itself, killed with SIGKILL: DCP notices and stops everything it started. Every process of that
        // app inherits the AppHost's environment, so a marker in it finds them all.
        var marker = Guid.NewGuid().ToString("N");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "CausalKv.AppHost.dll"), "--nodes", "2", "--shards", "1", "--spares", "0", "--CausalKv:AppHost:Sample=false" })
            info.ArgumentList.Add(a);
        info.Environment["CAUSALKV_TEST_MARKER"] = marker;
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort()}";
        info.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://127.0.0.1:{FreePort()}";
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment["Parameters__kv-cluster-key"] = Guid.NewGuid().ToString("N");
        using var host = Process.Start(info)!;
        var ready = new TaskCompletionSource();
        host.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            try { output.WriteLine(e.Data); } catch (InvalidOperationException) { } // the test has ended
            if (e.Data.Contains("Router: http", StringComparison.Ordinal)) ready.TrySetResult();
        };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromMinutes(3));
        var children = Marked(marker).Where(pid => pid != host.Id).ToList();
        output.WriteLine($"{children.Count} processes started by the AppHost");
        Assert.True(children.Count >= 4, "DCP, two nodes and the router run");
        host.Kill();
        await host.WaitForExitAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(children.All(pid => !IsAlive(pid))), TimeSpan.FromSeconds(120),
            "every process of the killed AppHost exits");
    }

    /// <summary>Processes whose environment holds the marker.</summary>
    private static IEnumerable<int> Marked(string marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string environ;
            try { environ = File.ReadAllText(Path.Combine(dir, "environ")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (environ.Contains("CAUSALKV_TEST_MARKER=" + marker, StringComparison.Ordinal)) yield return pid;
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited && File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ");
        }
        catch (ArgumentException) { return false; }
        catch (IOException) { return false; } // it exited while /proc was read
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
