using System.Text;
using System.Text.Json;
using CausalKv.Causality;
using CausalKv.Router.Routing;

namespace CausalKv.Tests.Router;

public sealed class AllItemsMergeTests
{
    private static readonly CausalMetadataCodec Codec = CausalMetadataCodec.ForCluster("secret");

    private static Dependency Dep(long origin, long seq, long ts = 1, int node = 0) =>
        new(VersionVector.Of(new VersionVector.Entry(origin, seq)), new WriteTag(ts, node));

    private static ShardAnswer Answer(string shard, string itemsJson, DependencySet deps, CausalMetadataCodec? codec = null) =>
        new(shard, 200, Encoding.UTF8.GetBytes($"{{\"items\":{itemsJson},\"causal-metadata\":{(codec ?? Codec).ToJson(deps)},\"shard\":\"{shard}\"}}"));

    private static JsonElement Parse(MergedAnswer answer) => JsonDocument.Parse(answer.Body).RootElement;

    [Fact]
    public void Items_of_every_shard_are_merged_into_one_object_in_key_order()
    {
        var merged = AllItemsMerge.Merge(
        [
            Answer("s1", """{"b":"2","d":"4"}""", DependencySet.Empty),
            Answer("s0", """{"c":"3","a":"1"}""", DependencySet.Empty),
        ], Codec);

        Assert.Equal(200, merged.Status);
        var items = Parse(merged).GetProperty("items");
        Assert.Equal(["a", "b", "c", "d"], items.EnumerateObject().Select(p => p.Name));
        Assert.Equal("4", items.GetProperty("d").GetString());
    }

    [Fact]
    public void The_metadata_is_the_join_of_every_shard_s_metadata()
    {
        var s0 = DependencySet.Empty.With("x", Dep(origin: 1, seq: 5)).With("shared", Dep(origin: 1, seq: 2, ts: 10));
        var s1 = DependencySet.Empty.With("y", Dep(origin: 2, seq: 3)).With("shared", Dep(origin: 2, seq: 7, ts: 20, node: 2));

        var merged = AllItemsMerge.Merge([Answer("s0", "{}", s0), Answer("s1", "{}", s1)], Codec);

        Assert.Equal(200, merged.Status);
        Assert.True(Codec.TryRead(Parse(merged).GetProperty("causal-metadata"), out var deps, out var error), error);
        Assert.True(deps.SetEquals(s0.Join(s1)));
        Assert.Equal(3, deps.Count);
        // Joined pointwise: the shared key's clock covers both writes, and the higher tag wins.
        Assert.Equal(2, deps["shared"]!.Clock[1]);
        Assert.Equal(7, deps["shared"]!.Clock[2]);
        Assert.Equal(new WriteTag(20, 2), deps["shared"]!.Tag);
    }

    [Fact]
    public void Answers_without_dependencies_give_empty_metadata()
    {
        var merged = AllItemsMerge.Merge([Answer("s0", """{"a":"1"}""", DependencySet.Empty)], Codec);
        Assert.Equal("{}", Parse(merged).GetProperty("causal-metadata").GetRawText());
    }

    [Fact]
    public void A_shard_s_error_is_returned_with_its_status_and_the_shard_named()
    {
        var busy = new ShardAnswer("s1", 503, """{"error":"This replica has not received a write","causal-metadata":{}}"""u8.ToArray());
        var merged = AllItemsMerge.Merge([Answer("s0", """{"a":"1"}""", DependencySet.Empty), busy], Codec);

        Assert.Equal(503, merged.Status);
        var body = Parse(merged);
        Assert.Equal("s1", body.GetProperty("shard").GetString());
        Assert.Contains("shard 's1'", body.GetProperty("error").GetString());
        Assert.Contains("This replica has not received a write", body.GetProperty("error").GetString());
        Assert.True(body.TryGetProperty("causal-metadata", out _));
        Assert.False(body.TryGetProperty("items", out _));
    }

    [Fact]
    public void Of_several_failed_shards_the_first_by_name_is_reported()
    {
        var merged = AllItemsMerge.Merge(
        [
            new ShardAnswer("s2", 400, """{"error":"bad metadata"}"""u8.ToArray()),
            new ShardAnswer("s1", 503, """{"error":"waited too long"}"""u8.ToArray()),
        ], Codec);
        Assert.Equal(503, merged.Status);
        Assert.Equal("s1", Parse(merged).GetProperty("shard").GetString());
    }

    [Fact]
    public void An_error_body_that_is_not_json_still_becomes_a_json_error()
    {
        var merged = AllItemsMerge.Merge([new ShardAnswer("s0", 500, "oops"u8.ToArray())], Codec);
        Assert.Equal(500, merged.Status);
        Assert.Contains("shard 's0'", Parse(merged).GetProperty("error").GetString());
    }

    [Fact]
    public void Metadata_the_router_cannot_read_is_a_502_naming_the_shard()
    {
        var other = CausalMetadataCodec.ForCluster("another cluster");
        var merged = AllItemsMerge.Merge(
        [
            Answer("s0", "{}", DependencySet.Empty),
            Answer("s1", "{}", DependencySet.Empty.With("x", Dep(1, 1)), other),
        ], Codec);
        Assert.Equal(502, merged.Status);
        Assert.Equal("s1", Parse(merged).GetProperty("shard").GetString());
        Assert.Contains("another cluster", Parse(merged).GetProperty("error").GetString());
    }

    [Fact]
    public void A_success_without_items_is_a_502()
    {
        var merged = AllItemsMerge.Merge([new ShardAnswer("s0", 200, """{"causal-metadata":{}}"""u8.ToArray())], Codec);
        Assert.Equal(502, merged.Status);
    }
}
