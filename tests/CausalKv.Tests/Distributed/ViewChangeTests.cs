using System.Net;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// View changes with a few thousand keys: each starts its own five-node cluster,
/// loads keys, changes the layout, and checks that no key was lost and each is on
/// its owner shard (per every node's own GET /data).
/// </summary>
public sealed class ViewChangeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Step(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:0.00} s: {what}");

    private const int Keys = 3000;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private KvApp _app = null!;
    private readonly Dictionary<string, HttpClient> _clients = [];

    public async Task InitializeAsync() =>
        _app = await KvApp.Create(nodes: 5, shards: 2).WithoutRouter()
            .WithNodeSetting("CausalWaitDeadline", "00:00:20").StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var c in _clients.Values) c.Dispose();
        await _app.DisposeAsync();
    }

    private HttpClient Client(string name)
    {
        if (!_clients.TryGetValue(name, out var c)) _clients[name] = c = _app.CreateHttpClient(name);
        return c;
    }

    private HttpClient Node(int id) => Client($"node{id}");

    private async Task<Dictionary<string, string>> LoadAsync(string prefix)
    {
        Step("cluster started");
        var keys = Enumerable.Range(0, Keys).ToDictionary(i => $"{prefix}{i}", i => $"value-{i}");
        await ShardAssertions.LoadAsync(Node, _app.Layout.Values.SelectMany(x => x).ToArray(), keys);
        Step($"{Keys} keys written");
        await ShardAssertions.EveryKeyOnItsOwnerAsync(_app, Client, keys, Settle);
        Step("every key on its owner");
        return keys;
    }

    private static Dictionary<string, int[]> Layout(params (string Shard, int[] Nodes)[] shards) =>
        shards.ToDictionary(s => s.Shard, s => s.Nodes);

    [Fact]
    public async Task Adding_a_shard_moves_only_the_keys_of_the_new_shard_and_loses_none()
    {
        var keys = await LoadAsync("add");
        var before = new HashRing(_app.Layout.Keys);
        await _app.InstallViewAsync(Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4])));
        Step("view installed");
        var after = new HashRing(_app.Layout.Keys);
        await ShardAssertions.EveryKeyOnItsOwnerAsync(_app, Client, keys, Settle);
        Step("every key on its owner after the change");
        var moved = keys.Keys.Count(k => before.ShardFor(k) != after.ShardFor(k));
        Assert.All(keys.Keys.Where(k => before.ShardFor(k) != after.ShardFor(k)), k => Assert.Equal("shard2", after.ShardFor(k)));
        Assert.InRange(moved, Keys / 3 - Keys / 20, Keys / 3 + Keys / 20);
    }

    [Fact]
    public async Task Removing_a_shard_and_the_node_left_out_of_the_view_keep_every_key()
    {
        await _app.InstallViewAsync(Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4])));
        var keys = await LoadAsync("rm");
        await _app.InstallViewAsync(Layout(("shard0", [0, 1]), ("shard1", [2, 3])));
        await ShardAssertions.EveryKeyOnItsOwnerAsync(_app, Client, keys, Settle);
        var left = await new KvSession().PutAsync(Node(4), "rm0", "x");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, left.Status);
        Assert.Contains("not in the current view", left.Error);
    }

    [Fact]
    public async Task Moving_a_node_between_shards_and_removing_a_node_keep_every_key()
    {
        var keys = await LoadAsync("mv");
        await _app.InstallViewAsync(Layout(("shard0", [0, 1, 2]), ("shard1", [3, 4])));
        await ShardAssertions.EveryKeyOnItsOwnerAsync(_app, Client, keys, Settle);
        await _app.InstallViewAsync(Layout(("shard0", [0, 2]), ("shard1", [3, 4])));
        await ShardAssertions.EveryKeyOnItsOwnerAsync(_app, Client, keys, Settle);
    }

    [Fact]
    public async Task Metadata_from_before_a_view_change_stays_valid_and_a_read_at_a_new_owner_waits_for_the_handoff()
    {
        var keys = await LoadAsync("dep");
        var next = Layout(("shard0", [0, 1]), ("shard1", [2, 3]), ("shard2", [4]));
        var ring = new HashRing(next.Keys);
        // A key that moves from shard0 (nodes 0, 1) to the new shard2 (node 4): node4 has never held it.
        var oldRing = new HashRing(_app.Layout.Keys);
        var moving = keys.Keys.First(k => ring.ShardFor(k) == "shard2" && oldRing.ShardFor(k) == "shard0");
        var session = new KvSession();
        Assert.Equal(keys[moving], (await session.GetAsync(Node(0), moving)).Value);
        await session.PutAsync(Node(1), moving, "written before the change");

        // The new owner learns the view first: until the old shard hands the key over, its read waits, never 404s.
        await _app.InstallViewAsync(next, onlyOn: [4]);
        var early = new KvSession().GetAsync(Node(4), moving);
        Assert.True(await Eventually.IsStillPendingAfter(early, TimeSpan.FromSeconds(1.5)), "a read at the new owner before the handoff waits");
        await _app.CompleteViewAsync();
        Assert.Equal("written before the change", (await early.WaitAsync(Settle)).Value);

        var read = await session.GetAsync(Node(4), moving);
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal("written before the change", read.Value);
        keys[moving] = "written before the change";
        await ShardAssertions.EveryKeyOnItsOwnerAsync(_app, Client, keys, Settle);
    }
}
