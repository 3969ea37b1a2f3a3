using System.Diagnostics;
using System.Net;
using CausalKv.AppHost.Orchestration;
using CausalKv.AppHost.Testing;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>Crashes: a node killed with SIGKILL under load, and no process outliving its AppHost.</summary>
public sealed class NodeFailureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_node_killed_under_a_stream_of_writes_leaves_the_rest_serving_and_catches_up_when_restarted()
    {
        await using var app = await CausalKvTestingBuilder.Create(nodes: 4, shards: 2).WithoutRouter().StartAsync();
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
        Assert.Equal(ResourceState.Exited, app.GetResource("node0").State);
        var atKill = acknowledged.Count;
        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > atKill + 300), TimeSpan.FromSeconds(20), "the rest keep serving writes");
        await app.StartResourceAsync("node0");
        await app.WaitForResourceHealthyAsync("node0");
        var afterRestart = acknowledged.Count;
        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > afterRestart + 100), TimeSpan.FromSeconds(20), "writes flow after the restart");
        stop.Cancel();
        await Task.WhenAll(writers);
        output.WriteLine($"{acknowledged.Count} writes acknowledged, {failures} refused; node0 restarted {app.GetResource("node0").RestartCount} time(s)");
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
        int[] pids;
        await using (var app = await CausalKvTestingBuilder.Create(nodes: 2, shards: 1).StartAsync())
            pids = app.Resources.Select(r => r.Pid!.Value).ToArray();
        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"process {pid} outlived the disposed app"));

        // The AppHost itself, killed with SIGKILL: its children must die with it.
        var appHost = Path.Combine(AppContext.BaseDirectory, "CausalKv.AppHost.dll");
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { appHost, "--nodes", "2", "--shards", "1", "--dashboard-port", port.ToString() }) info.ArgumentList.Add(a);
        using var host = Process.Start(info)!;
        var children = new List<int>();
        var ready = new TaskCompletionSource();
        host.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            output.WriteLine(e.Data);
            var at = e.Data.IndexOf(" pid ", StringComparison.Ordinal);
            if (at > 0 && int.TryParse(e.Data[(at + 5)..].Trim(), out var pid)) lock (children) children.Add(pid);
            if (e.Data.StartsWith("Router:", StringComparison.Ordinal)) ready.TrySetResult();
        };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(3, children.Count);
        Assert.All(children, pid => Assert.True(IsAlive(pid)));
        host.Kill();
        await host.WaitForExitAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(children.All(pid => !IsAlive(pid))), TimeSpan.FromSeconds(10),
            "every child of the killed AppHost exits");
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited && File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ");
        }
        catch (ArgumentException) { return false; }
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
