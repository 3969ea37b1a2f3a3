using System.Text.Json;
using System.Text.Json.Serialization;

namespace CausalKv.Samples.Comments;

/// <summary>One comment of a thread: a post (<see cref="ReplyTo"/> null) or a reply to one.</summary>
public sealed record Comment(string Id, string Thread, string Author, string Text, string? ReplyTo);

/// <summary>What a user sends to post or reply.</summary>
public sealed record NewComment(string Author, string Text);

/// <summary>A post with its replies, as a thread page shows it.</summary>
public sealed record PostView(Comment Post, IReadOnlyList<Comment> Replies);

/// <summary>
/// A thread page. <see cref="ParentsFetched"/>: replies whose post the scan of the store did not return, so their post
/// was read by key; causality makes that read return it (waiting for it if need be), never "not found".
/// </summary>
public sealed record ThreadView(string Thread, IReadOnlyList<PostView> Posts, int ParentsFetched);

[JsonSerializable(typeof(Comment))]
[JsonSerializable(typeof(NewComment))]
[JsonSerializable(typeof(ThreadView))]
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
internal sealed partial class CommentJson : JsonSerializerContext;
