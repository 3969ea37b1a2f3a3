using CausalKv.Client;
using CausalKv.Samples.Comments;

// A comment thread on CausalKv. Each user's causal session travels in a cookie (or the X-CausalKv-Session header),
// so a user's requests are causally ordered whichever replica serves them, and what they saw orders what they write.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddCausalKvClient("kv");
builder.Services.AddSingleton<CommentStore>();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, CommentJson.Default));

var app = builder.Build();
app.MapDefaultEndpoints();

// The store's answers, as this service's: a session that is not one is the caller's error; a causal wait that hit the
// store's deadline or a shard that cannot be reached is the store's, for now.
app.Use(async (context, next) =>
{
    try
    {
        await next(context);
    }
    catch (Exception e) when (e is FormatException or CausalKvRequestRefusedException && !context.Response.HasStarted)
    {
        await Results.BadRequest(new { error = e.Message }).ExecuteAsync(context);
    }
    catch (CausalKvException e) when (!context.Response.HasStarted)
    {
        await Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
    }
});

const string SessionCookie = "ckv-session";
const string SessionHeader = "X-CausalKv-Session";

static CausalKvSession SessionOf(HttpContext context)
{
    var saved = context.Request.Headers[SessionHeader].FirstOrDefault() ?? context.Request.Cookies[SessionCookie];
    return string.IsNullOrEmpty(saved) ? new CausalKvSession() : CausalKvSession.Restore(saved);
}

static void Keep(HttpContext context, CausalKvSession session)
{
    var saved = session.Save();
    context.Response.Headers[SessionHeader] = saved;
    context.Response.Cookies.Append(SessionCookie, saved, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict });
}

app.MapPost("/threads/{thread}/posts", async (string thread, NewComment input, HttpContext context, CommentStore store, CancellationToken ct) =>
{
    var session = SessionOf(context);
    var post = await store.PostAsync(session, thread, input, ct);
    Keep(context, session);
    return Results.Created($"/threads/{thread}", post);
});

app.MapPost("/threads/{thread}/posts/{post}/replies", async (string thread, string post, NewComment input, HttpContext context, CommentStore store, CancellationToken ct) =>
{
    var session = SessionOf(context);
    var reply = await store.ReplyAsync(session, thread, post, input, ct);
    Keep(context, session);
    return reply is null ? Results.NotFound(new { error = $"Post '{post}' is not visible to you (yet)." }) : Results.Created($"/threads/{thread}", reply);
});

app.MapGet("/threads/{thread}", async (string thread, HttpContext context, CommentStore store, CancellationToken ct) =>
{
    var session = SessionOf(context);
    var view = await store.ThreadAsync(session, thread, ct);
    Keep(context, session);
    return Results.Ok(view);
});

app.MapGet("/", () => Results.Text(
    "A comment thread on CausalKv. POST /threads/{thread}/posts {author, text}; POST /threads/{thread}/posts/{id}/replies; GET /threads/{thread}.\n" +
    "Your causal session travels in the ckv-session cookie (or the X-CausalKv-Session header): a reply is never shown without its post.\n"));

app.Run();
