using System.Text;
using System.Text.Json;
using CausalKv.Causality;
using CausalKv.Paging;
using CausalKv.Router.Routing;

namespace CausalKv.Tests.Router;

/// <summary>The router's side of a paged listing: where a cursor resumes, reading a node's page, the cap of the un-paged form.</summary>
public sealed class PagedListingTests
{
    private static readonly CausalMetadataCodec Codec = CausalMetadataCodec.ForCluster("secret");

    private static Dependency Dep(long origin, long seq) => new(VersionVector.Of(new VersionVector.Entry(origin, seq)), new WriteTag(1, 0));

    [Fact]
    public void A_cursor_resumes_in_its_shard_after_its_key_or_at_the_next_shard_by_name_when_its_shard_left()
    {
        string[] shards = ["shard0", "shard1", "shard3"];
        Assert.Equal((0, (string?)null), PagedItemsReader.Start(shards, null, null));
        Assert.Equal((1, (string?)"k"), PagedItemsReader.Start(shards, "shard1", "k"));
        Assert.Equal((1, (string?)null), PagedItemsReader.Start(shards, "shard1", null));
        Assert.Equal((2, (string?)null), PagedItemsReader.Start(shards, "shard2", "k"));
        Assert.Equal((3, (string?)null), PagedItemsReader.Start(shards, "shard9", "k"));
    }

    [Fact]
    public void A_nodes_page_is_read_in_order_with_its_metadata_and_where_it_ends()
    {
        var deps = DependencySet.Empty.With("b", Dep(1, 4));
        var body = Encoding.UTF8.GetBytes(
            $"{{\"items\":{{\"b\":\"2\",\"a\":\"1\"}},\"causal-metadata\":{Codec.ToJson(deps)},\"next-cursor\":\"{PageCursor.ForShard("b")}\",\"shard\":\"s0\"}}");
        Assert.True(ShardPageAnswer.TryRead(body, Codec, out var page, out var problem), problem);
        Assert.Equal(["b", "a"], page!.Items.Select(kv => kv.Key));
        Assert.True(page.More);
        Assert.Equal("b", page.Last);
        Assert.True(page.Dependencies.SetEquals(deps));

        var last = Encoding.UTF8.GetBytes($"{{\"items\":{{}},\"causal-metadata\":{Codec.ToJson(deps)},\"next-cursor\":null}}");
        Assert.True(ShardPageAnswer.TryRead(last, Codec, out page, out _));
        Assert.False(page!.More);
        Assert.Empty(page.Items);
    }

    public static TheoryData<string> BadPages => new()
    {
        "[]", "{\"items\":{\"a\":1},\"causal-metadata\":{}}", "{\"items\":{}}", "{\"items\":{},\"causal-metadata\":{},\"next-cursor\":\"nope\"}",
        "{\"items\":{},\"causal-metadata\":{\"ckv\":\"0123456789abcdef\",\"d\":{}}}", "{\"items\":",
    };

    [Theory]
    [MemberData(nameof(BadPages))]
    public void A_page_the_router_cannot_trust_is_a_problem_not_items(string body)
    {
        Assert.False(ShardPageAnswer.TryRead(Encoding.UTF8.GetBytes(body), Codec, out var page, out var problem));
        Assert.Null(page);
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void The_unpaged_merge_refuses_past_the_clusters_cap_naming_limit_and_cursor()
    {
        ShardAnswer Answer(string shard, string items) =>
            new(shard, 200, Encoding.UTF8.GetBytes($"{{\"items\":{items},\"causal-metadata\":{Codec.ToJson(DependencySet.Empty)}}}"));
        ShardAnswer[] answers = [Answer("s0", """{"a":"1","b":"2"}"""), Answer("s1", """{"c":"3"}""")];
        Assert.Equal(200, AllItemsMerge.Merge(answers, Codec, new UnpagedCaps(3, 1000)).Status);
        var refused = AllItemsMerge.Merge(answers, Codec, new UnpagedCaps(2, 1000));
        Assert.Equal(400, refused.Status);
        var error = JsonDocument.Parse(refused.Body).RootElement.GetProperty("error").GetString();
        Assert.Contains("limit", error);
        Assert.Contains("cursor", error);
        Assert.Equal(400, AllItemsMerge.Merge(answers, Codec, new UnpagedCaps(10, 5)).Status);
    }
}
