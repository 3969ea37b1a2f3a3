using System.Collections.Concurrent;
using System.Net;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// Crashes again and again: nodes killed with SIGKILL under concurrent writes, some while cut off from their shard's
/// other replica (so writes they acknowledged are on their disk alone), on nodes that fsync every acknowledged write.
/// Each writer carries a session over 100 writes, so writes taken while cut off carry many dependencies and are stored
/// with them as shared tries. After restart and heal no acknowledged write is lost and the replicas of each shard converge.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Nodes_killed_again_and_again_under_writes_with_and_without_partitions_lose_no_acknowledged_write()
    {
        await using var app = await KvApp.Create(nodes: 4, shards: 2).WithoutRouter().WithNodeSetting("Durability", "Fsync").StartAsync();
        var clients = Enumerable.Range(0, 4).Select(i => app.CreateHttpClient($"node{i}", TimeSpan.FromSeconds(10))).ToArray();
        var acknowledged = new ConcurrentDictionary<string, string>();
        var unknown = new ConcurrentDictionary<string, byte>();
        var refusals = new ConcurrentQueue<string>();
        var mostDependencies = 0;
        using var stop = new CancellationTokenSource();
        // Two writers per node, keys of both shards: every node accepts, forwards and replicates while others die.
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var n = w % 4;
            var session = new KvSession();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"crash-{w}-{i}";
                if (i % 100 == 0) session = new KvSession();
                try
                {
                    var answer = await session.PutAsync(clients[n], key, $"v{i}");
                    if (answer.Status is HttpStatusCode.Created or HttpStatusCode.OK)
                    {
                        acknowledged[key] = $"v{i}";
                        var deps = session.DependencyCount;
                        if (deps > Volatile.Read(ref mostDependencies)) Interlocked.Exchange(ref mostDependencies, deps);
                    }
                    else if (answer.Status is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout)
                        unknown[key] = 0; // a node restarting, or forwarding to one that just died: not acknowledged
                    else refusals.Enqueue($"{key} at node{n}: {(int)answer.Status} {answer.Error}");
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    unknown[key] = 0; // the node died with this write in flight: it may or may not exist
                    await Task.Delay(50);
                }
            }
        })).ToList();

        const int kills = 4; // every node once, two of them while cut off
        var partner = new Dictionary<int, int>();
        foreach (var ids in app.Layout.Values) { partner[ids[0]] = ids[1]; partner[ids[1]] = ids[0]; }
        for (var round = 0; round < kills; round++)
        {
            var victim = round % 4;
            var name = $"node{victim}";
            var partitioned = round % 2 == 1;
            if (partitioned) await app.CutAsync(victim, partner[victim]);
            var before = acknowledged.Count;
            await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > before + 150), TimeSpan.FromSeconds(30), $"writes flowing before kill {round + 1}");
            await app.KillResourceAsync(name);
            var atKill = acknowledged.Count;
            await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > atKill + 100), TimeSpan.FromSeconds(30), $"the others serve while {name} is down");
            await app.StartResourceAsync(name);
            await app.WaitForResourceHealthyAsync(name);
            if (partitioned) await app.HealAllAsync();
            output.WriteLine($"kill {round + 1}: {name}{(partitioned ? ", cut off from node" + partner[victim] : "")}; {acknowledged.Count} acknowledged so far");
        }
        var afterLast = acknowledged.Count;
        await Eventually.HoldsAsync(() => Task.FromResult(acknowledged.Count > afterLast + 100), TimeSpan.FromSeconds(30), "writes flow after the last restart");
        stop.Cancel();
        await Task.WhenAll(writers);
        foreach (var r in refusals.Take(10)) output.WriteLine(r);
        Assert.Empty(refusals);

        foreach (var ids in app.Layout.Values)
            await Eventually.HoldsAsync(async () =>
                await clients[ids[0]].GetStringAsync("/admin/digest") == await clients[ids[1]].GetStringAsync("/admin/digest"),
                TimeSpan.FromSeconds(60), $"node{ids[0]} and node{ids[1]} converge");
        var expected = acknowledged.ToDictionary();
        await ShardAssertions.EveryKeyOnItsOwnerAsync(app, name => clients[int.Parse(name[4..])], expected, TimeSpan.FromSeconds(60),
            unknown.Keys.ToHashSet());
        output.WriteLine($"{kills} kills ({kills / 2} while cut off from the shard's other replica), {expected.Count} acknowledged writes, 0 lost; {unknown.Count} unacknowledged; " +
                         $"at most {mostDependencies} dependencies in a session");
        foreach (var c in clients) c.Dispose();
    }
}
