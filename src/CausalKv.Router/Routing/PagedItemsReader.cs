using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CausalKv.Causality;
using CausalKv.Paging;
using CausalKv.Protocol;
using CausalKv.Router.Api;
using CausalKv.Router.Discovery;
using CausalKv.Router.Telemetry;
using Microsoft.Extensions.Options;

namespace CausalKv.Router.Routing;

/// <summary>
/// A page of <c>GET /data?limit=&amp;cursor=&amp;prefix=</c> for the whole cluster: shards in ordinal order of their names,
/// each paged by a replica of it (the client's metadata sent with every request), until the page holds <c>limit</c>
/// keys or <c>CausalKv:MaxPageBytes</c>. Items are streamed as each shard's page arrives, so the router holds one
/// node's page at a time; the metadata that follows joins the answers of every shard asked, so it covers what was
/// returned. A shard that fails after items were sent ends the page early with a cursor at that shard: the next page
/// asks it again (and answers its error), so no page is partial without saying where to go on.
/// </summary>
internal sealed class PagedItemsReader(ViewTracker views, AllItemsReader shards, CausalMetadataCodec codec, IOptions<RouterOptions> options)
{
    /// <summary>A page asks at most this many node pages (each bounded): past shards full of deleted keys, it ends with a cursor.</summary>
    private const int MaxNodePages = 32;

    private readonly int _maxPageBytes = options.Value.MaxPageBytes;

    public async Task ReadAsync(HttpContext context, byte[] body, PageQuery query)
    {
        var response = context.Response;
        var ct = context.RequestAborted;
        string? cursorShard = null, after = null;
        if (query.Cursor is { } cursor && !PageCursor.TryReadCluster(cursor, out cursorShard, out after, out var error))
        {
            await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        var view = views.Current.View;
        if (view is null)
        {
            await JsonResponses.ErrorAsync(response, StatusCodes.Status503ServiceUnavailable, FailoverResult.NoViewMessage);
            return;
        }
        using var activity = RouterTelemetry.Source.StartActivity(RouterTelemetry.Spans.ReadAll);
        activity?.SetTag(RouterTelemetry.Tags.Epoch, view.Epoch);
        var names = view.ShardNames;
        var (index, startAfter) = Start(names, cursorShard, after);
        after = startAfter;

        Utf8JsonWriter? w = null;
        DependencySet? deps = null;
        var remaining = query.Limit;
        long bytes = 0;
        string? next = null;
        try
        {
            for (var asked = 0; index < names.Count; asked++)
            {
                var shard = names[index];
                if (w is not null && (remaining == 0 || bytes >= _maxPageBytes || asked >= MaxNodePages))
                {
                    next = PageCursor.ForCluster(shard, after);
                    break;
                }
                var path = NodePath(remaining, query.Prefix, after);
                var (result, answer) = await shards.AskShardAsync(shard, context.Request, body, path, ct);
                if (ct.IsCancellationRequested || result.Status == FailoverStatus.Cancelled) return;
                ShardPageAnswer? page = null;
                MergedAnswer? failure = result.Status != FailoverStatus.Answered
                    ? AllItemsMerge.Error(StatusCodes.Status503ServiceUnavailable, shard, result.Error ?? "no replica answered")
                    : answer!.Status is < 200 or > 299
                        ? AllItemsMerge.ShardError(answer)
                        : ShardPageAnswer.TryRead(answer.Body, codec, out page, out var problem)
                            ? null
                            : AllItemsMerge.Error(StatusCodes.Status502BadGateway, shard,
                                $"shard '{shard}' answered GET /data with something the router cannot read ({problem}).");
                if (failure is not null)
                {
                    if (w is null)
                    {
                        activity?.SetStatus(ActivityStatusCode.Error, $"shard {shard} answered {failure.Status}");
                        await JsonResponses.WriteAsync(response, failure.Status, failure.Body);
                        return;
                    }
                    next = PageCursor.ForCluster(shard, after);
                    break;
                }
                if (w is null)
                {
                    response.StatusCode = StatusCodes.Status200OK;
                    response.ContentType = "application/json";
                    w = JsonResponses.StreamWriter(response);
                    w.WriteStartObject();
                    w.WriteStartObject("items");
                }
                foreach (var (k, v) in page!.Items)
                {
                    w.WriteString(k, v);
                    bytes += Encoding.UTF8.GetByteCount(k) + Encoding.UTF8.GetByteCount(v);
                    if (w.BytesPending >= JsonResponses.StreamChunkBytes) await JsonResponses.FlushAsync(w, response, ct);
                }
                remaining -= Math.Min(remaining, page.Items.Count);
                deps = deps is null ? page.Dependencies : deps.Join(page.Dependencies);
                if (page.More)
                {
                    after = page.Last;
                }
                else
                {
                    index++;
                    after = null;
                }
            }
            if (w is null)
            {
                // The cursor named a point past every shard of the view (shards were removed): nothing left, the session's metadata as it came.
                if (!TryClientMetadata(context.Request, body, out deps, out var problem))
                {
                    await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest, problem!);
                    return;
                }
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "application/json";
                w = JsonResponses.StreamWriter(response);
                w.WriteStartObject();
                w.WriteStartObject("items");
            }
            w.WriteEndObject();
            w.WritePropertyName(AllItemsMerge.MetadataField);
            codec.Write(w, deps!);
            if (next is null) w.WriteNull("next-cursor");
            else w.WriteString("next-cursor", next);
            w.WriteEndObject();
            await JsonResponses.FlushAsync(w, response, ct);
        }
        finally
        {
            if (w is not null) await w.DisposeAsync();
        }
    }

    /// <summary>Where a page starts: the cursor's shard after its key, or, when that shard left the view, the next one by name.</summary>
    internal static (int Index, string? After) Start(IReadOnlyList<string> shards, string? cursorShard, string? after)
    {
        if (cursorShard is null) return (0, null);
        for (var i = 0; i < shards.Count; i++)
        {
            var order = string.CompareOrdinal(shards[i], cursorShard);
            if (order == 0) return (i, after);
            if (order > 0) return (i, null);
        }
        return (shards.Count, null);
    }

    private static string NodePath(int limit, string prefix, string? after)
    {
        var path = new StringBuilder("/data?limit=").Append(limit);
        if (prefix.Length > 0) path.Append("&prefix=").Append(Uri.EscapeDataString(prefix));
        if (after is not null) path.Append("&cursor=").Append(PageCursor.ForShard(after));
        return path.ToString();
    }

    private bool TryClientMetadata(HttpRequest request, byte[] body, out DependencySet? deps, out string? problem)
    {
        deps = null;
        try
        {
            using var document = body.AsSpan().Trim(" \t\r\n"u8).IsEmpty ? null : JsonDocument.Parse(body);
            JsonElement metadata = default;
            if (document is not null && document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(AllItemsMerge.MetadataField, out var m)) metadata = m;
            else if (request.Headers.TryGetValue(ProtocolHeaders.CausalMetadata, out var header) && !string.IsNullOrWhiteSpace(header))
            {
                using var fromHeader = JsonDocument.Parse(header.ToString());
                var ok = codec.TryRead(fromHeader.RootElement.Clone(), out var d, out problem);
                deps = d;
                return ok;
            }
            var read = codec.TryRead(metadata, out var parsed, out problem);
            deps = parsed;
            return read;
        }
        catch (JsonException)
        {
            problem = "The body or the X-Causal-Metadata header is not valid JSON.";
            return false;
        }
    }
}
