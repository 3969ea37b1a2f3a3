using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// The AppHost's sample service ("comments"), on a cluster whose replicas are cut off from each other: users post and
/// reply through it, each with their own causal session (the X-CausalKv-Session header), and no thread page ever
/// shows a reply without the post it answers.
/// </summary>
public sealed class CommentsSampleTests(ITestOutputHelper output)
{
    private const string SessionHeader = "X-CausalKv-Session";

    private sealed class User(HttpClient web)
    {
        private string _session = "";

        public async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, object? body = null, CancellationToken ct = default)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            request.Headers.Add(SessionHeader, _session);
            using var response = await web.SendAsync(request, ct);
            if (response.Headers.TryGetValues(SessionHeader, out var saved)) _session = saved.Single();
            var text = await response.Content.ReadAsStringAsync(ct);
            return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
        }
    }

    [Fact]
    public async Task A_reply_is_never_shown_without_its_post_while_replicas_are_cut_off()
    {
        await using var app = await KvApp.Create(nodes: 4, shards: 2).WithSample().StartAsync();
        await app.WaitForResourceHealthyAsync("comments");
        using var web = app.CreateHttpClient("comments");
        var pairs = app.Layout.Values.Select(ids => (ids[0], ids[1])).ToList();
        int waited = 0, fetched = 0, withReply = 0;

        for (var round = 0; round < 6; round++)
        {
            // Each shard's two replicas cut off from each other: a write stays on the replica that took it.
            foreach (var (a, b) in pairs) await app.CutAsync(a, b);
            var thread = $"t{round}-{Guid.NewGuid():N}";
            var alice = new User(web);
            var (posted, post) = await alice.SendAsync(HttpMethod.Post, $"/threads/{thread}/posts", new { author = "alice", text = "Lunch?" });
            Assert.Equal(HttpStatusCode.Created, posted);
            var postId = post.GetProperty("id").GetString()!;

            // Bob replies once he sees the post: a replica without it answers "not visible (yet)", so he tries again,
            // afresh, until a request of his meets the replica that has it.
            HttpStatusCode replied = default;
            await Eventually.HoldsAsync(async () =>
            {
                (replied, _) = await new User(web).SendAsync(HttpMethod.Post, $"/threads/{thread}/posts/{postId}/replies", new { author = "bob", text = "Yes!" });
                return replied == HttpStatusCode.Created;
            }, TimeSpan.FromSeconds(60), "Bob sees Alice's post and replies");

            // Carol opens the thread. Where the replica she reads the reply from is ahead of the one she reads the
            // post from, her page waits for the post: it arrives once the links heal.
            var carol = new User(web);
            var page = carol.SendAsync(HttpMethod.Get, $"/threads/{thread}");
            if (await Task.WhenAny(page, Task.Delay(TimeSpan.FromSeconds(2))) != page) waited++;
            await app.HealAllAsync();
            var (status, body) = await page;
            Assert.True(status == HttpStatusCode.OK, $"the thread page answered {status}: {body}");
            fetched += body.GetProperty("parentsFetched").GetInt32();
            var posts = body.GetProperty("posts").EnumerateArray().ToList();
            foreach (var p in posts)
                Assert.All(p.GetProperty("replies").EnumerateArray(), r => Assert.Equal(p.GetProperty("post").GetProperty("id").GetString(), r.GetProperty("replyTo").GetString()));
            if (posts.Any(p => p.GetProperty("replies").GetArrayLength() > 0))
            {
                withReply++;
                Assert.Equal(postId, Assert.Single(posts).GetProperty("post").GetProperty("id").GetString());
            }
        }
        output.WriteLine($"6 rounds: {withReply} pages showed the reply (always with its post); {waited} waited for the post; {fetched} posts were read by key after the scan missed them");
    }
}
