using CausalKv.Client;

namespace CausalKv.Samples.Comments;

/// <summary>
/// Comments in CausalKv, one key per comment (<c>comment:{thread}:{id}</c>), so that no two writers ever overwrite
/// each other. A reply is written only after its writer's session read the post, so the store orders the reply
/// after the post: any session that has seen the reply reads the post too, on any replica of any shard. The thread
/// page relies on exactly that.
/// </summary>
public sealed class CommentStore(CausalKvClient kv)
{
    private static string Key(string thread, string id) => $"comment:{thread}:{id}";

    public async Task<Comment> PostAsync(CausalKvSession session, string thread, NewComment input, CancellationToken ct)
    {
        var comment = new Comment(NewId(), thread, input.Author, input.Text, ReplyTo: null);
        await kv.PutAsync(session, Key(thread, comment.Id), comment, CommentJson.Default.Comment, ct);
        return comment;
    }

    /// <summary>The reply, or null when this session cannot see the post (it does not exist, or not yet for this session).</summary>
    public async Task<Comment?> ReplyAsync(CausalKvSession session, string thread, string postId, NewComment input, CancellationToken ct)
    {
        // Reading the post puts it into the session's causal past: the reply written next is ordered after it.
        var post = await kv.TryGetAsync(session, Key(thread, postId), CommentJson.Default.Comment, ct);
        if (!post.Found || post.Value!.ReplyTo is not null) return null;
        var reply = new Comment(NewId(), thread, input.Author, input.Text, postId);
        await kv.PutAsync(session, Key(thread, reply.Id), reply, CommentJson.Default.Comment, ct);
        return reply;
    }

    /// <summary>
    /// Every comment of the thread this session can see. The scan pages through the thread's keys (its prefix) at one
    /// replica per shard, and a replica may not
    /// have a post yet whose reply another shard's replica already has. Such a post is read by key: the reply's
    /// metadata makes that read wait until the post is there, so no reply is ever shown without its post.
    /// </summary>
    public async Task<ThreadView> ThreadAsync(CausalKvSession session, string thread, CancellationToken ct)
    {
        var prefix = $"comment:{thread}:";
        var comments = new Dictionary<string, Comment>(StringComparer.Ordinal);
        await foreach (var (_, value) in kv.GetAllAsync(session, prefix, cancellationToken: ct))
        {
            if (System.Text.Json.JsonSerializer.Deserialize(value, CommentJson.Default.Comment) is { } c) comments[c.Id] = c;
        }
        var fetched = 0;
        foreach (var reply in comments.Values.Where(c => c.ReplyTo is not null).ToList())
        {
            if (comments.ContainsKey(reply.ReplyTo!)) continue;
            var post = await kv.TryGetAsync(session, Key(thread, reply.ReplyTo!), CommentJson.Default.Comment, ct);
            if (!post.Found) throw new InvalidOperationException($"Causality broken: reply {reply.Id} is visible but its post {reply.ReplyTo} is not.");
            comments[post.Value!.Id] = post.Value;
            fetched++;
        }
        var posts = comments.Values.Where(c => c.ReplyTo is null).OrderBy(c => c.Id, StringComparer.Ordinal)
            .Select(p => new PostView(p, [.. comments.Values.Where(r => r.ReplyTo == p.Id).OrderBy(r => r.Id, StringComparer.Ordinal)]))
            .ToList();
        return new ThreadView(thread, posts, fetched);
    }

    /// <summary>Ids that sort by creation time (then at random), so a thread lists in order.</summary>
    private static string NewId() => $"{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Guid.NewGuid().ToString("N")[..8]}";
}
