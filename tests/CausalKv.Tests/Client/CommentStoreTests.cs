using System.Net;
using System.Text.Json;
using CausalKv.Client;
using CausalKv.Samples.Comments;
using SampleComment = CausalKv.Samples.Comments.Comment;

namespace CausalKv.Tests.Client;

/// <summary>
/// The sample's thread page against nodes in memory: a scan that finds a reply but not its post reads the post by
/// key (with the reply in the session's causal past), so the page shows both, or fails loudly; never a lone reply.
/// </summary>
public sealed class CommentStoreTests : IDisposable
{
    private readonly FakeNodes _nodes = new() { View = FakeNodes.TwoReplicaShards(2) };
    private readonly CausalKvClient _client;

    public CommentStoreTests() =>
        _client = new CausalKvClient(new CausalKvClientOptions { Endpoints = [new Uri("http://127.0.9.100:8080")] }, _nodes, disposeHandler: false);

    public void Dispose() => _client.Dispose();

    private string ShardAt(string address) => _nodes.View.ShardNames.Single(s => _nodes.View.NodesOf(s).Any(n => n.Address == address));

    private void Serve(SampleComment post, SampleComment reply, bool postReadable)
    {
        string Key(SampleComment c) => $"comment:{c.Thread}:{c.Id}";
        string Json(SampleComment c) => JsonSerializer.Serialize(c, CommentJsonForTests.Options);
        _nodes.Answer = r =>
        {
            if (r.Path == "/data")
            {
                // The scan: only the reply, wherever it lives; the post's replica has not got it yet.
                var shard = ShardAt(r.Address);
                var items = _nodes.View.CreateRing().ShardFor(Key(reply)) == shard ? $"{{{JsonSerializer.Serialize(Key(reply))}: {JsonSerializer.Serialize(Json(reply))}}}" : "{}";
                return (HttpStatusCode.OK, $"{{\"items\": {items}, \"causal-metadata\": {{}}, \"shard\": \"{shard}\"}}", false);
            }
            if (r.Path == "/data/" + Key(post) && postReadable)
                return (HttpStatusCode.OK, $"{{\"value\": {JsonSerializer.Serialize(Json(post))}, \"causal-metadata\": {{}}}}", false);
            return (HttpStatusCode.NotFound, "{\"causal-metadata\": {}, \"error\": \"Key does not exist.\"}", false);
        };
    }

    [Fact]
    public async Task A_reply_whose_post_the_scan_missed_is_shown_with_the_post_read_by_key()
    {
        var post = new SampleComment("1", "t", "alice", "Lunch?", null);
        var reply = new SampleComment("2", "t", "bob", "Yes!", "1");
        Serve(post, reply, postReadable: true);
        var page = await new CommentStore(_client).ThreadAsync(new CausalKvSession(), "t", default);
        Assert.Equal(1, page.ParentsFetched);
        var shown = Assert.Single(page.Posts);
        Assert.Equal(post, shown.Post);
        Assert.Equal([reply], shown.Replies);
        Assert.Contains(_nodes.DataRequests, r => r.Path == "/data/comment:t:1");
    }

    [Fact]
    public async Task A_reply_whose_post_cannot_be_read_fails_the_page_rather_than_showing_it_alone()
    {
        Serve(new SampleComment("1", "t", "alice", "Lunch?", null), new SampleComment("2", "t", "bob", "Yes!", "1"), postReadable: false);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => new CommentStore(_client).ThreadAsync(new CausalKvSession(), "t", default));
        Assert.Contains("Causality broken", e.Message);
    }
}

internal static class CommentJsonForTests
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
