using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// What the AppHost gives a user on the Aspire dashboard, driven the way the dashboard drives it (ResourceCommandService):
/// the cluster key as a secret parameter, node properties, the cut/heal/kill commands, a node started again rejoining
/// with the current view, shards added from spares and removed, and the router's cluster page following it all.
/// </summary>
public sealed class AspireIntegrationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    [Fact]
    public async Task The_dashboard_commands_cut_kill_restart_and_reshard_a_running_cluster()
    {
        await using var app = await KvApp.Create(nodes: 4, shards: 2).WithSpares(2).AsProjects().Reconciled().StartAsync();
        Step("cluster started");
        var commands = app.App.Services.GetRequiredService<ResourceCommandService>();
        var model = app.App.Services.GetRequiredService<DistributedApplicationModel>();
        using var router = app.CreateHttpClient("router");
        using var node0 = app.CreateHttpClient("node0");
        using var node1 = app.CreateHttpClient("node1");

        // The cluster key is a secret parameter the user can find on the dashboard; the nodes demand it.
        var key = model.Resources.OfType<ParameterResource>().Single(p => p.Name == "kv-cluster-key");
        Assert.True(key.Secret);
        Assert.Equal(app.ClusterKey, await key.GetValueAsync(default));
        Assert.Equal("Running", await app.StateAsync("kv"));

        // Each node shows its shard, epoch and keys as resource properties.
        await Eventually.HoldsAsync(async () => Property(await SnapshotAsync(app, "node2"), "causalkv.shard") == "shard1",
            Settle, "node2 shows its shard as a property");

        var keys = Enumerable.Range(0, 200).ToDictionary(i => $"asp{i}", i => $"v{i}");
        await ShardAssertions.LoadAsync(_ => router, [0], keys);
        Step("200 keys written through the router");

        // Cut: node0 no longer reaches its peer, so a write on node1 stays there until the heal.
        var cut = await commands.ExecuteCommandAsync(app.Cluster.Node(0).Resource, "causalkv-cut");
        Assert.True(cut.Success, cut.Message);
        Assert.Contains("cut from", cut.Message);
        var faults = await node0.GetFromJsonAsync<JsonElement>("/admin/faults");
        Assert.Contains(1, faults.GetProperty("blocked").EnumerateArray().Select(b => b.GetInt32()));
        var session = new KvSession();
        Assert.Equal(HttpStatusCode.Created, (await session.PutAsync(node1, "asp-cut", "during")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().GetAsync(node0, "asp-cut")).Status);
        var heal = await commands.ExecuteCommandAsync(app.Cluster.Node(0).Resource, "causalkv-heal");
        Assert.True(heal.Success, heal.Message);
        await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(node0, "asp-cut")).Value == "during", Settle, "the healed node catches up");
        Step("cut and healed");

        // Kill: the node's process dies at once; commands on it then fail with a clear reason.
        var kill = await commands.ExecuteCommandAsync(app.Cluster.Node(1).Resource, "causalkv-kill");
        Assert.True(kill.Success, kill.Message);
        Assert.NotEqual("Running", await app.StateAsync("node1"));
        var refused = await commands.ExecuteCommandAsync(app.Cluster.Node(1).Resource, "causalkv-cut");
        Assert.False(refused.Success);
        Assert.Contains("not running", refused.Message);
        Assert.Equal(HttpStatusCode.Created, (await session.PutAsync(node0, "asp-while-down", "w")).Status);
        Step("node1 killed");

        // Started again from the dashboard: it rejoins its shard with the current view and catches up.
        await app.StartResourceAsync("node1");
        using var node1Again = app.CreateHttpClient("node1");
        var status = await app.GetStatusAsync("node1");
        Assert.Equal(app.Epoch, status.GetProperty("epoch").GetInt64());
        Assert.Equal("shard0", status.GetProperty("shard").GetString());
        await Eventually.HoldsAsync(async () =>
            await node0.GetStringAsync("/admin/digest") == await node1Again.GetStringAsync("/admin/digest"), Settle, "node1 holds what node0 holds");
        Step("node1 restarted and caught up");

        // Add a shard: the two spares start and take a share of the keys; the router's cluster page shows the new view.
        var epochBefore = app.Epoch;
        var added = await commands.ExecuteCommandAsync(app.Cluster, "causalkv-add-shard");
        Assert.True(added.Success, added.Message);
        Assert.Equal(3, app.Layout.Count);
        Assert.Equal([4, 5], app.Layout["shard2"]);
        Assert.True(app.Epoch > epochBefore);
        // The command declared generation 2 to the router, whose reconciler installed it.
        var reconciler = (await router.GetFromJsonAsync<JsonElement>("/cluster/state")).GetProperty("reconciler");
        Assert.Equal(2, reconciler.GetProperty("generation").GetInt64());
        Assert.Equal(2, app.Control.Generation);
        var all = keys.Append(new("asp-cut", "during")).Append(new("asp-while-down", "w")).ToDictionary();
        await ShardAssertions.EveryKeyOnItsOwnerAsync(app, name => app.CreateHttpClient(name), all, Settle);
        await Eventually.HoldsAsync(async () =>
        {
            var picture = await router.GetFromJsonAsync<JsonElement>("/cluster/state");
            return picture.GetProperty("epoch").GetInt64() == app.Epoch && picture.GetProperty("shards").GetArrayLength() == 3;
        }, Settle, "the router's cluster page shows the new view");
        Step($"shard added: {added.Message}");

        // Remove it again: its keys go back, its nodes stop.
        var removed = await commands.ExecuteCommandAsync(app.Cluster, "causalkv-remove-shard");
        Assert.True(removed.Success, removed.Message);
        Assert.Equal(2, app.Layout.Count);
        await ShardAssertions.EveryKeyOnItsOwnerAsync(app, name => app.CreateHttpClient(name), all, Settle);
        await Eventually.HoldsAsync(async () => await app.StateAsync("node4") != "Running", Settle, "the removed shard's nodes stop");
        foreach (var (k, v) in all.Take(20)) Assert.Equal(v, (await new KvSession().GetAsync(router, k)).Value);
        Step($"shard removed: {removed.Message}");
    }

    private static async Task<CustomResourceSnapshot> SnapshotAsync(KvApp app, string name)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return (await app.App.ResourceNotifications.WaitForResourceAsync(KvApp.ResourceName(name), _ => true, cts.Token)).Snapshot;
    }

    private static string? Property(CustomResourceSnapshot snapshot, string name) =>
        snapshot.Properties.FirstOrDefault(p => p.Name == name)?.Value?.ToString();
}
