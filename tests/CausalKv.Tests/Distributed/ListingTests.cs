using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Storage;

namespace CausalKv.Tests.Distributed;

/// <summary><c>GET /data</c> a page at a time on a replica pair, at a node and at the router: every key once, causal, bounded.</summary>
[Collection(ReplicaPairCollection.Name)]
public sealed class ListingTests(ReplicaPairFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(15);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private HttpClient N0 => cluster.Node(0);
    private HttpClient N1 => cluster.Node(1);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => cluster.App.HealAllAsync();

    [Fact]
    public async Task Paging_with_a_prefix_lists_every_key_once_in_key_order_at_a_node_and_at_the_router()
    {
        var writer = new KvSession();
        var keys = Enumerable.Range(0, 57).Select(i => $"{_p}k:{i}").Concat([$"{_p}k:é", $"{_p}k:🔑", $"{_p}k:\uE000", $"{_p}k:a b?#+"]).ToList();
        foreach (var k in keys) Assert.True((await writer.PutAsync(N0, k, "v:" + k)).Status is HttpStatusCode.Created or HttpStatusCode.OK);
        await writer.PutAsync(N0, $"{_p}other", "not listed");
        await writer.PutAsync(N0, $"{_p}k:deleted", "gone soon");
        await writer.DeleteAsync(N0, $"{_p}k:deleted");

        foreach (var (node, name) in new[] { (N1, "node1"), (cluster.Router, "router") })
        {
            var reader = new KvSession { Metadata = writer.Metadata?.DeepClone() };
            var (items, pages) = await reader.ListAsync(node, _p + "k:", limit: 10);
            Assert.Equal(keys.Order(KeyOrder.Instance), items.Select(kv => kv.Key));
            Assert.All(items, kv => Assert.Equal("v:" + kv.Key, kv.Value));
            Assert.True(pages is >= 7 and <= 8, $"{name}: {pages} pages of 10 for {keys.Count} keys");
        }
        var all = await new KvSession().ListAsync(N0, _p, limit: 1000);
        Assert.Equal(keys.Count + 1, all.Items.Count);
    }

    [Fact]
    public async Task A_page_waits_only_for_missing_writes_among_its_keys_and_its_metadata_makes_the_next_read_causal()
    {
        var a = $"{_p}a:x";
        var b = $"{_p}b:x";
        await new KvSession().PutAsync(N0, a, "old");
        await new KvSession().PutAsync(N0, b, "old");
        await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(N1, a)).Value == "old" && (await new KvSession().GetAsync(N1, b)).Value == "old",
            Soon, "both replicas hold the first writes");
        await cluster.App.CutAsync(0, 1);
        var writer = new KvSession();
        await writer.PutAsync(N0, b, "new");

        // The writer depends on b=new, which node1 lacks: a page of a: answers at once, a page of b: waits.
        var writerAtN1 = new KvSession { Metadata = writer.Metadata!.DeepClone() };
        var pageA = await writerAtN1.GetPageAsync(N1, $"prefix={Uri.EscapeDataString(_p + "a:")}").WaitAsync(Soon);
        Assert.Equal(HttpStatusCode.OK, pageA.Status);
        Assert.Equal("old", pageA.Body["items"]![a]!.GetValue<string>());

        // A reader sees b=new in a page at node0; its next read at node1 must not go back to b=old.
        var reader = new KvSession();
        var page = await reader.GetPageAsync(N0, $"prefix={Uri.EscapeDataString(_p + "b:")}&limit=5");
        Assert.Equal("new", page.Body["items"]![b]!.GetValue<string>());
        Assert.Null(page.Body["next-cursor"]);
        var read = reader.GetAsync(N1, b);
        var pageB = new KvSession { Metadata = writer.Metadata!.DeepClone() }.GetPageAsync(N1, $"prefix={Uri.EscapeDataString(_p + "b:")}");
        Assert.True(await Eventually.IsStillPendingAfter(read, TimeSpan.FromSeconds(1.5)), "the reader's next read waits for what its page showed");
        Assert.False(pageB.IsCompleted, "a page waits for a missing write among its keys");
        await cluster.App.HealAsync(0, 1);
        Assert.Equal("new", (await read.WaitAsync(Soon)).Value);
        Assert.Equal("new", (await pageB.WaitAsync(Soon)).Body["items"]![b]!.GetValue<string>());
    }

    [Fact]
    public async Task Beyond_the_cap_the_unpaged_form_is_a_400_naming_limit_and_cursor_and_paging_still_lists_it()
    {
        var s = new KvSession();
        var big = new string('b', 1_000_000);
        var keys = Enumerable.Range(0, 9).Select(i => $"{_p}big{i}").ToList();
        try
        {
            foreach (var k in keys) Assert.True((await s.PutAsync(N0, k, big)).Status is HttpStatusCode.Created or HttpStatusCode.OK);
            foreach (var node in new[] { N0, cluster.Router })
            {
                var refused = await s.GetAllAsync(node);
                Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
                Assert.Contains("limit", refused.Error);
                Assert.Contains("cursor", refused.Error);
                Assert.Contains("MaxUnpaged", refused.Error);
                var (items, pages) = await s.ListAsync(node, _p + "big", limit: 4);
                Assert.Equal(keys, items.Select(kv => kv.Key));
                Assert.All(items, kv => Assert.Equal(big.Length, kv.Value.Length));
                Assert.True(pages >= 3, $"{pages} pages");
            }
        }
        finally
        {
            foreach (var k in keys) await s.DeleteAsync(N0, k);
        }
        Assert.Equal(HttpStatusCode.OK, (await s.GetAllAsync(N0)).Status);
    }

    public static TheoryData<string, string> BadQueries => new()
    {
        { "limit=0", "limit" }, { "limit=100000", "limit" }, { "limit=ten", "limit" }, { "limit=1&limit=2", "once" },
        { "cursor=", "cursor" }, { "cursor=bm90LWEtY3Vyc29y", "cursor" }, { "cursor=%F0%9F", "cursor" },
        { "prefix=" + new string('p', 1100), "prefix" },
    };

    [Theory]
    [MemberData(nameof(BadQueries))]
    public async Task Bad_paging_parameters_are_a_JSON_400_at_a_node_and_at_the_router(string query, string named)
    {
        foreach (var node in new[] { N0, cluster.Router })
        {
            using var response = await node.GetAsync("/data?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
            Assert.Contains(named, error);
        }
    }

    [Fact]
    public async Task A_nodes_cursor_is_refused_by_the_router_and_the_routers_by_a_node()
    {
        // One session: the router may list a replica the writes have not reached yet, and the session makes it wait for them.
        var session = new KvSession();
        await session.PutAsync(N0, _p + "c1", "v");
        await session.PutAsync(N0, _p + "c2", "v");
        var fromNode = (await session.GetPageAsync(N0, $"limit=1&prefix={_p}")).Body["next-cursor"]!.GetValue<string>();
        var fromRouter = (await session.GetPageAsync(cluster.Router, $"limit=1&prefix={_p}")).Body["next-cursor"]!.GetValue<string>();
        using var atRouter = await cluster.Router.GetAsync($"/data?cursor={Uri.EscapeDataString(fromNode)}");
        Assert.Equal(HttpStatusCode.BadRequest, atRouter.StatusCode);
        using var atNode = await N1.GetAsync($"/data?cursor={Uri.EscapeDataString(fromRouter)}");
        Assert.Equal(HttpStatusCode.BadRequest, atNode.StatusCode);
        Assert.Contains("router", await atNode.Content.ReadAsStringAsync());
    }
}
