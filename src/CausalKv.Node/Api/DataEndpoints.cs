using System.Text;
using System.Text.Json;
using CausalKv.Causality;
using CausalKv.Node.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Paging;
using CausalKv.Protocol;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Api;

/// <summary>
/// The data API's handlers over HTTP: parse and check the request, then carry out what <see cref="DataRequests"/>
/// decides for it (forward it when the key belongs to another shard, wait for what the session depends on, answer).
/// </summary>
public sealed class DataEndpoints(
    ReplicaStore store,
    ClusterState cluster,
    DataRequests requests,
    CausalWaiter waiter,
    ShardForwarder forwarder,
    ReadGate gate,
    LargeRequestGate largeRequests,
    NodeIdentity identity,
    IOptions<NodeOptions> options)
{
    public const string MetadataField = "causal-metadata";
    public const string MetadataHeader = ProtocolHeaders.CausalMetadata;
    public const string NotServingHeader = ProtocolHeaders.NotServing;
    private const int MaxKeyBytes = 1024;
    /// <summary>Room in a body for what is not the value: its metadata (within MaxMetadataBytes) and the JSON around both.</summary>
    private readonly int _metadataAllowance = options.Value.MaxMetadataBytes + 4096;
    private readonly int _maxValueBytes = options.Value.MaxValueBytes;
    private readonly CausalMetadataCodec _codec = identity.Metadata;
    private readonly NodeOptions _listing = options.Value;
    private readonly MetadataLimits _metadataLimits = new(options.Value.MaxMetadataDependencies, options.Value.MaxMetadataBytes);

    // Every legal JSON spelling of a value of the maximum size fits (BodyLimits), and the metadata on top. A request
    // without a value (GET, DELETE, a listing) carries only metadata: a larger body is refused before it is read.
    private long BodyLimit(bool expectValue) => expectValue ? BodyLimits.MaxBodyBytes(_maxValueBytes, _metadataAllowance) : _metadataAllowance;

    public async Task GetAsync(HttpContext context, string key)
    {
        var request = await ReadAsync(context, key, expectValue: false);
        if (request is null) return;
        await DecideAsync(context, request, () => requests.Read(key, request.Dependencies));
    }

    public async Task PutAsync(HttpContext context, string key)
    {
        var request = await ReadAsync(context, key, expectValue: true);
        if (request is null) return;
        await DecideAsync(context, request, () => requests.Write(key, request.Value!, request.Dependencies));
    }

    public async Task DeleteAsync(HttpContext context, string key)
    {
        var request = await ReadAsync(context, key, expectValue: false);
        if (request is null) return;
        await DecideAsync(context, request, () => requests.Delete(key, request.Dependencies));
    }

    /// <summary>Carries out what <see cref="DataRequests"/> decides: forwards, answers, or waits and asks again.</summary>
    private async Task DecideAsync(HttpContext context, ParsedRequest request, Func<DataDecision> decide)
    {
        while (true)
        {
            var decision = decide();
            // The view this node answers under: a client routing by an older one refreshes it.
            context.Response.Headers[ProtocolHeaders.Epoch] = decision.Membership.EpochText;
            switch (decision)
            {
                case DataDecision.Forward forward:
                    await forwarder.ForwardAsync(context, forward.Membership, forward.Shard, request.Body);
                    return;
                case DataDecision.Wait wait:
                    var outcome = await waiter.WaitAsync(wait.Scope, wait.Missing, context.RequestAborted, context.Response.Headers);
                    if (!await AnsweredWaitFailure(context, outcome, request.Dependencies, wait.Missing)) return;
                    continue;
                case DataDecision.Answer answer:
                    await AnswerAsync(context, answer.Status, w =>
                    {
                        if (answer.Value is not null) w.WriteString("value", answer.Value);
                        JsonResponses.Metadata(w, _codec, answer.Metadata);
                        if (answer.Error is not null) w.WriteString("error", answer.Error);
                    });
                    return;
            }
        }
    }

    /// <summary>
    /// <c>GET /data</c>: the shard's keys, a page at a time (<c>limit</c>, <c>cursor</c>, <c>prefix</c>) or all at once under a
    /// cap. A page is read first (bounded by its budget), the read waits only for missing writes among the keys the page
    /// covers (reading it again once they came), and the answer is streamed: items, then the metadata of what they showed.
    /// </summary>
    public async Task GetAllAsync(HttpContext context)
    {
        var request = await ReadAsync(context, key: null, expectValue: false);
        if (request is null) return;
        var (membership, deps) = (request.Membership, request.Dependencies);
        var query = context.Request.Query;
        if (!PageQuery.TryParse(name => query[name], out var page, out var error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        string? after = null;
        if (page.Cursor is { } cursor && !PageCursor.TryReadShard(cursor, out after, out error))
        {
            await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest, error!);
            return;
        }
        var budget = page.IsPaged
            ? PageBudget.ForLimit(page.Limit, _listing.MaxPageBytes)
            : new PageBudget(_listing.MaxUnpagedItems, _listing.MaxUnpagedBytes, _listing.MaxUnpagedItems * 4);
        ShardPage read;
        while (true)
        {
            // Whether this replica may answer for its shard at all (caught up, no handoff on its way) is settled before
            // the page is read: a page read before the handed-off keys arrived must not answer once they have.
            if (gate.MissingForShard() is not null)
            {
                var ready = await waiter.WaitAsync("*", gate.MissingForShard, context.RequestAborted, context.Response.Headers);
                if (!await AnsweredWaitFailure(context, ready, deps, gate.MissingForShard)) return;
            }
            read = ShardPage.Read(store.Range(after, page.Prefix), after, page.Prefix, membership.Owns, deps, budget);
            if (!page.IsPaged && read.More)
            {
                await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status400BadRequest,
                    $"This shard holds more than GET /data answers at once ({_listing.MaxUnpagedItems} keys or {_listing.MaxUnpagedBytes} bytes of keys and values, "
                    + "CausalKv:MaxUnpagedItems and CausalKv:MaxUnpagedBytes): page through it with GET /data?limit=N (at most "
                    + $"{PageQuery.MaxLimit}), then ?cursor= the next-cursor of each answer until it is null.");
                return;
            }
            var covered = read;
            if (Moved(membership))
            {
                // A view installed meanwhile may have taken keys of the page away, or given this node another shard.
                membership = cluster.Current;
                if (requests.NotServing(membership) is var (reason, notServing))
                {
                    context.Response.Headers[NotServingHeader] = reason;
                    await JsonResponses.ErrorAsync(context.Response, StatusCodes.Status503ServiceUnavailable, notServing);
                    return;
                }
                context.Response.Headers[ProtocolHeaders.Epoch] = membership.EpochText;
                continue;
            }
            // The page answers by the versions it read, also when what it lacked arrived since: then it is read again.
            if (gate.MissingForShard() is null && covered.Missing is null) break;
            string? Missing() => gate.MissingForShard() ?? gate.MissingInPage(deps, membership, covered);
            var outcome = await waiter.WaitAsync("*", Missing, context.RequestAborted, context.Response.Headers);
            if (!await AnsweredWaitFailure(context, outcome, deps, Missing)) return;
            // What arrived may have changed the page: read it again, and wait again for what its range lacks.
        }
        await store.WhenDurableAsync(context.RequestAborted);
        await WritePageAsync(context, read, page.IsPaged, Prune(read.After), membership.MyShard);
    }

    private async Task WritePageAsync(HttpContext context, ShardPage read, bool paged, DependencySet after, string? shard)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        var ct = context.RequestAborted;
        await using var w = JsonResponses.StreamWriter(response);
        w.WriteStartObject();
        w.WriteStartObject("items");
        foreach (var (k, v) in read.Items)
        {
            w.WriteString(k, v);
            if (w.BytesPending >= JsonResponses.StreamChunkBytes) await JsonResponses.FlushAsync(w, response, ct);
        }
        w.WriteEndObject();
        JsonResponses.Metadata(w, _codec, after);
        if (paged)
        {
            if (read.More) w.WriteString("next-cursor", PageCursor.ForShard(read.Last!));
            else w.WriteNull("next-cursor");
        }
        w.WriteString("shard", shard);
        w.WriteEndObject();
        await JsonResponses.FlushAsync(w, response, ct);
    }

    private bool Moved(Membership membership) => !ReferenceEquals(cluster.Current, membership);

    private DependencySet Prune(DependencySet deps) => requests.Prune(deps);

    /// <summary>
    /// Answers once every change made here so far is as durable as the node promises: the write this request made, and
    /// with Fsync also whatever the answer reports (a version read, dependencies pruned as held by every replica), so no
    /// answer tells of a write that a power loss could take back. At once with Process durability.
    /// </summary>
    private async Task AnswerAsync(HttpContext context, int status, Action<System.Text.Json.Utf8JsonWriter> body)
    {
        await store.WhenDurableAsync(context.RequestAborted);
        await JsonResponses.WriteAsync(context.Response, status, body);
    }

    /// <param name="missing">what the replica still lacks, to name in the 503 at the deadline</param>
    private async Task<bool> AnsweredWaitFailure(HttpContext context, WaitOutcome outcome, DependencySet deps, Func<string?> missing)
    {
        switch (outcome)
        {
            case WaitOutcome.Satisfied:
                return true;
            case WaitOutcome.ClientGone:
                context.Abort();
                return false;
            default:
                await AnswerAsync(context, StatusCodes.Status503ServiceUnavailable, w =>
                {
                    var what = missing() is { } m ? $": it still lacks the {m}" : "";
                    w.WriteString("error", $"This replica has not received a write the session depends on within {waiter.Deadline.TotalSeconds:0.#} s{what} (it is probably cut off from the replica that has it). Retry later or on another replica.");
                    JsonResponses.Metadata(w, _codec, deps);
                });
                return false;
        }
    }

    private sealed record ParsedRequest(Membership Membership, DependencySet Dependencies, string? Value, byte[] Body);

    /// <summary>Checks everything a data request carries; answers the error itself and returns null when something is wrong.</summary>
    private async Task<ParsedRequest?> ReadAsync(HttpContext context, string? key, bool expectValue)
    {
        var response = context.Response;
        if (requests.ViewToAwait(ShardForwarder.EpochOf(context.Request.Headers[ProtocolHeaders.Epoch], identity.IsAuthorized(context.Request))) is { } sent)
        {
            bool arrived;
            try { arrived = await cluster.WaitForEpochAsync(sent, waiter.Deadline, context.RequestAborted); }
            catch (OperationCanceledException) { context.Abort(); return null; }
            if (!arrived)
            {
                response.Headers[NotServingHeader] = "behind-view";
                await JsonResponses.ErrorAsync(response, StatusCodes.Status503ServiceUnavailable, requests.BehindView(sent));
                return null;
            }
        }
        var membership = cluster.Current;
        if (requests.NotServing(membership) is var (reason, error))
        {
            response.Headers[NotServingHeader] = reason;
            await JsonResponses.ErrorAsync(response, StatusCodes.Status503ServiceUnavailable, error);
            return null;
        }
        if (key is not null && (key.Length == 0 || Encoding.UTF8.GetByteCount(key) > MaxKeyBytes))
        {
            await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest, $"Keys are 1 to {MaxKeyBytes} UTF-8 bytes long.");
            return null;
        }
        // A large body is read, parsed and checked in one of a few slots (see LargeRequestGate); small ones never wait.
        LargeRequestGate.Slot slot;
        try { slot = await largeRequests.EnterAsync(context.Request, context.RequestAborted); }
        catch (OperationCanceledException) { context.Abort(); return null; }
        using (slot) return await ReadCheckedAsync(context, key, expectValue, membership);
    }

    private async Task<ParsedRequest?> ReadCheckedAsync(HttpContext context, string? key, bool expectValue, Membership membership)
    {
        var response = context.Response;
        byte[] body;
        try
        {
            body = await RequestBody.ReadAsync(context.Request, BodyLimit(expectValue), context.RequestAborted);
        }
        catch (CausalKv.Http.BoundedBody.TooLargeException e)
        {
            await JsonResponses.ErrorAsync(response, StatusCodes.Status413PayloadTooLarge, expectValue
                ? $"The request body is over {e.Limit} bytes; values may be at most {_maxValueBytes} bytes."
                : $"The request body is over {e.Limit} bytes: a {context.Request.Method} carries only causal-metadata, at most {_metadataLimits.MaxBytes} bytes of it.");
            return null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout && !context.RequestAborted.IsCancellationRequested)
        {
            // Kestrel gave up on a body sent slower than its minimum data rate (Kestrel:Limits:MinRequestBodyDataRate).
            await JsonResponses.ErrorAsync(response, StatusCodes.Status408RequestTimeout,
                "The request body arrived slower than the minimum data rate the node accepts; nothing was changed. Send it at once.");
            return null;
        }
        catch (Exception e) when (e is BadHttpRequestException or OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested
                                  || e is BadHttpRequestException { StatusCode: StatusCodes.Status400BadRequest })
        {
            // The client went away, or sent less than it announced: nobody is left to answer, and it is not the node's failure.
            context.Abort();
            return null;
        }
        if (!RequestBody.TryParseObject(body, out var document, out var error)
            || (error = RequestBody.HeaderTextError(context.Request.Headers[MetadataHeader])) is not null)
        {
            document?.Dispose();
            await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest, error!);
            return null;
        }
        using (document)
        {
            string? value = null;
            if (expectValue)
            {
                if (document is null)
                {
                    await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest,
                        "The body is missing: send {\"value\": \"<string>\", \"causal-metadata\": {...}}.");
                    return null;
                }
                if (!document.RootElement.TryGetProperty("value", out var v) || v.ValueKind != JsonValueKind.String)
                {
                    await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest,
                        "The body needs a string \"value\" (numbers, objects and null are not values).");
                    return null;
                }
                value = v.GetString()!;
                if (Encoding.UTF8.GetByteCount(value) > _maxValueBytes)
                {
                    await JsonResponses.ErrorAsync(response, StatusCodes.Status413PayloadTooLarge,
                        $"The value is over the limit of {_maxValueBytes} bytes.");
                    return null;
                }
            }
            JsonElement metadata = default;
            JsonDocument? headerDocument = null;
            try
            {
                if (document is not null && document.RootElement.TryGetProperty(MetadataField, out var m)) metadata = m;
                else if (context.Request.Headers.TryGetValue(MetadataHeader, out var header) && !string.IsNullOrWhiteSpace(header))
                {
                    try { headerDocument = JsonDocument.Parse(header.ToString()); }
                    catch (JsonException)
                    {
                        await JsonResponses.ErrorAsync(response, StatusCodes.Status400BadRequest,
                            $"The {MetadataHeader} header is not valid JSON: pass the causal-metadata a response gave you.");
                        return null;
                    }
                    metadata = headerDocument.RootElement;
                }
                if (!_codec.TryRead(metadata, _metadataLimits, out var deps, out var metaError, out var tooLarge))
                {
                    await JsonResponses.ErrorAsync(response, tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, metaError!);
                    return null;
                }
                // The view this node answers under: a client routing by an older one refreshes it.
                response.Headers[ProtocolHeaders.Epoch] = membership.EpochText;
                return new ParsedRequest(membership, deps, value, body);
            }
            finally
            {
                headerDocument?.Dispose();
            }
        }
    }
}
