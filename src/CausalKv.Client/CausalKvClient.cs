// CausalKvClient: the store's data API with the routing of a shard-aware client.
//
// Invariants: a request goes to a replica of the shard that owns its key under the newest view the client knows
// (the nodes' own hash ring), or, through a router, to a router; a request is sent to another replica only when the
// first cannot have applied it (it failed to connect, or said it serves no data), except a read, which is always safe
// to repeat; the session takes the metadata of every answer that carries one, verbatim.
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CausalKv.Client.Routing;
using CausalKv.Client.Wire;
using CausalKv.Protocol;
using CausalKv.Sharding;

namespace CausalKv.Client;

/// <summary>
/// A client of a CausalKv cluster. Thread-safe, meant to live as long as the application (one per cluster): it keeps
/// the view and pooled connections to the nodes. Every call names the <see cref="CausalKvSession"/> whose causal history
/// it continues.
/// </summary>
public sealed class CausalKvClient : IDisposable
{
    private const string NotServingHeader = CausalKv.Protocol.ProtocolHeaders.NotServing;
    private const string CausalWaitHeader = CausalKv.Protocol.ProtocolHeaders.CausalWait;
    private const string EpochHeader = CausalKv.Protocol.ProtocolHeaders.Epoch;
    private const int MaxViewRetries = 2;
    private static readonly TimeSpan ViewRequestTimeout = TimeSpan.FromSeconds(3);

    private readonly CausalKvClientOptions _options;
    private readonly HttpClient _http;
    private readonly Uri[] _endpoints;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Lock _refreshGate = new();
    private RoutingTable? _table;
    private Task<RoutingTable?>? _refreshing;
    private int _endpointRotation;

    /// <summary>A client with its own connection pool.</summary>
    public CausalKvClient(CausalKvClientOptions options)
        : this(options, null, disposeHandler: true)
    {
    }

    /// <summary>
    /// A client sending through <paramref name="handler"/> (e.g. one from IHttpClientFactory, or one for tests); null
    /// makes a SocketsHttpHandler with <see cref="CausalKvClientOptions.ConnectTimeout"/>.
    /// </summary>
    public CausalKvClient(CausalKvClientOptions options, HttpMessageHandler? handler, bool disposeHandler = true)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } error) throw new ArgumentException(error, nameof(options));
        _options = options;
        _endpoints = [.. options.Endpoints.Select(e => new Uri(e.GetLeftPart(UriPartial.Authority) + "/"))];
        handler ??= new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            // Endpoints and views name hosts: a connection lives at most this long, so a name that moved to another
            // address is resolved again (a connection that fails is replaced at once anyway).
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        };
        _http = new HttpClient(handler, disposeHandler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The view the client routes by (null before the first request, or with <see cref="CausalKvRouting.ViaRouter"/>).</summary>
    public ShardView? View => Volatile.Read(ref _table)?.View;

    /// <summary>Where requests go.</summary>
    public CausalKvRouting Routing => _options.Routing;

    // ---- reads -------------------------------------------------------------------------------------------------------

    /// <summary>The value of <paramref name="key"/>, or null when it does not exist.</summary>
    public async Task<string?> GetAsync(CausalKvSession session, string key, CancellationToken cancellationToken = default) =>
        (await TryGetAsync(session, key, cancellationToken)).Value;

    /// <summary>The value of <paramref name="key"/>; <see cref="CausalKvEntry{T}.Found"/> is false when it does not exist.</summary>
    public async Task<CausalKvEntry<string>> TryGetAsync(CausalKvSession session, string key, CancellationToken cancellationToken = default)
    {
        var answer = await SendKeyAsync(HttpMethod.Get, session, key, value: null, cancellationToken);
        if (answer.Status == (int)HttpStatusCode.NotFound) return new(false, null);
        if (!answer.IsSuccess) throw Failure(answer, null);
        return new(true, answer.Value ?? throw new CausalKvException($"The store answered the read of '{key}' without a value.", (HttpStatusCode)answer.Status));
    }

    /// <summary>The value of <paramref name="key"/> read as JSON into <typeparamref name="T"/>, or default when it does not exist.</summary>
    public async Task<T?> GetAsync<T>(CausalKvSession session, string key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        (await TryGetAsync(session, key, typeInfo, cancellationToken)).Value;

    /// <summary>The value of <paramref name="key"/> read as JSON into <typeparamref name="T"/>; not found is <see cref="CausalKvEntry{T}.Found"/> false.</summary>
    /// <exception cref="JsonException">The stored value is not JSON of <typeparamref name="T"/>.</exception>
    public async Task<CausalKvEntry<T>> TryGetAsync<T>(CausalKvSession session, string key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var entry = await TryGetAsync(session, key, cancellationToken);
        return entry.Found ? new(true, JsonSerializer.Deserialize(entry.Value!, typeInfo)) : new(false, default);
    }

    /// <summary>Every key and value, a page at a time (see <see cref="GetAllAsync(CausalKvSession, string, int, CancellationToken)"/>).</summary>
    public IAsyncEnumerable<KeyValuePair<string, string>> GetAllAsync(CausalKvSession session, CancellationToken cancellationToken = default) =>
        GetAllAsync(session, "", DefaultPageSize, cancellationToken);

    /// <summary>The page size of a listing unless told otherwise (the store's default <c>limit</c>; at most 10,000).</summary>
    public const int DefaultPageSize = 1000;

    /// <summary>
    /// The keys that start with <paramref name="prefix"/> ("" for all) and their values, fetched <paramref name="pageSize"/>
    /// at a time as the enumeration goes, so a listing holds one page in memory whatever the store holds. Keys come shard
    /// by shard (ordinal order of the shards' names), each shard's in the order of their UTF-8 bytes. Every page is read
    /// with the session's metadata and leaves the session depending on what it returned, so a later call of the session
    /// sees at least what the listing showed. Directly routed, the client pages through a replica of each shard in turn;
    /// through a router, the router does. A listing that runs across a view change may miss or repeat keys that moved.
    /// </summary>
    public async IAsyncEnumerable<KeyValuePair<string, string>> GetAllAsync(CausalKvSession session, string prefix, int pageSize = DefaultPageSize,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, CausalKv.Paging.PageQuery.MaxLimit);
        if (_options.Routing == CausalKvRouting.ViaRouter)
        {
            string? cursor = null;
            do
            {
                var page = await ReadPageAsync(session, null, prefix, pageSize, cursor, null, cancellationToken);
                foreach (var item in page.Items ?? []) yield return item;
                cursor = page.NextCursor;
            }
            while (cursor is not null);
            yield break;
        }
        var table = await TableAsync(cancellationToken);
        var shard = table.View.ShardNames.FirstOrDefault();
        string? shardCursor = null;
        while (shard is not null)
        {
            var page = await ReadPageAsync(session, shard, prefix, pageSize, shardCursor, table, cancellationToken);
            foreach (var item in page.Items ?? []) yield return item;
            // Routed by the newest view from here on: a view change may have added or removed shards.
            table = Volatile.Read(ref _table) ?? table;
            if (page.NextCursor is { } next && table.View.ShardNames.Contains(shard))
            {
                shardCursor = next;
                continue;
            }
            // The shard is done (or left the view): the next one by name.
            shard = table.View.ShardNames.FirstOrDefault(s => string.CompareOrdinal(s, shard) > 0);
            shardCursor = null;
        }
    }

    /// <summary>One page: of the router's listing (<paramref name="shard"/> null), or of one shard's, at a replica of it.</summary>
    private async Task<DataAnswer> ReadPageAsync(CausalKvSession session, string? shard, string prefix, int pageSize, string? cursor,
        RoutingTable? table, CancellationToken ct)
    {
        const string Operation = "GET_ALL";
        var started = Stopwatch.GetTimestamp();
        var activity = CausalKvClientTelemetry.Start(Operation, key: null);
        try
        {
            var path = "data?limit=" + pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)
                       + (prefix.Length > 0 ? "&prefix=" + Uri.EscapeDataString(prefix) : "")
                       + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            DataAnswer answer;
            if (shard is null)
            {
                (answer, var router) = await SendViaRouterAsync(HttpMethod.Get, path, RequestBody.Write(null, session.CausalMetadata), ct);
                CausalKvClientTelemetry.Answered(activity, null, router, answer.WaitedMs);
                session.Observe(answer.Metadata);
                if (!answer.IsSuccess) throw Failure(answer, answer.Shard);
            }
            else
            {
                answer = await ReadShardPageAsync(session, shard, path, table!, activity, ct);
            }
            CausalKvClientTelemetry.Ended(activity, Operation, started, "ok");
            return answer;
        }
        catch (Exception e)
        {
            CausalKvClientTelemetry.Ended(activity, Operation, started, CausalKvClientTelemetry.OutcomeOf(e), e);
            throw;
        }
    }

    /// <summary>A page of one shard at a replica of it, the view refreshed and the page asked again when the replica moved on.</summary>
    private async Task<DataAnswer> ReadShardPageAsync(CausalKvSession session, string shard, string path, RoutingTable table, Activity? activity, CancellationToken ct)
    {
        for (var retry = 0; ; retry++)
        {
            var attempt = await SendToShardAsync(table, shard, HttpMethod.Get, path, RequestBody.Write(null, session.CausalMetadata), isRead: true, ct);
            var answer = attempt.Answer;
            var moved = answer is null ? attempt.Reason : ViewRefresh.ForAnswer(answer.Status, answer.NotServing, answer.Shard, shard);
            if (answer is not null && moved == ViewRefreshReason.None)
            {
                if (answer.WaitedMs is not null) CausalKvClientTelemetry.Answered(activity, shard, attempt.AnsweredBy, answer.WaitedMs);
                session.Observe(answer.Metadata);
                if (!answer.IsSuccess) throw Failure(answer, shard);
                return answer;
            }
            var refreshed = await RefreshAsync(ct);
            if (retry >= MaxViewRetries || refreshed is null || !ViewRefresh.RetryAfterRefresh(moved, table.Epoch, refreshed.Epoch)
                || !refreshed.View.ShardNames.Contains(shard))
            {
                throw answer switch
                {
                    null => Unreachable(shard, attempt),
                    { IsSuccess: true } moving => new CausalKvException(
                        $"Asked for shard '{shard}', a node answered for shard '{moving.Shard}' under every view the client found: the view is changing; retry."),
                    var last => Failure(last, shard),
                };
            }
            table = refreshed;
        }
    }

    // ---- writes ------------------------------------------------------------------------------------------------------

    /// <summary>Writes <paramref name="value"/> under <paramref name="key"/>. Returns once one replica of the key's shard has it.</summary>
    public async Task PutAsync(CausalKvSession session, string key, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        var answer = await SendKeyAsync(HttpMethod.Put, session, key, value, cancellationToken);
        if (!answer.IsSuccess) throw Failure(answer, null);
    }

    /// <summary>Writes <paramref name="value"/> as JSON under <paramref name="key"/>.</summary>
    public Task PutAsync<T>(CausalKvSession session, string key, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return PutAsync(session, key, JsonSerializer.Serialize(value, typeInfo), cancellationToken);
    }

    /// <summary>Deletes <paramref name="key"/>; false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(CausalKvSession session, string key, CancellationToken cancellationToken = default)
    {
        var answer = await SendKeyAsync(HttpMethod.Delete, session, key, value: null, cancellationToken);
        if (answer.Status == (int)HttpStatusCode.NotFound) return false;
        if (!answer.IsSuccess) throw Failure(answer, null);
        return true;
    }

    // ---- routing -----------------------------------------------------------------------------------------------------

    /// <summary>Asks the endpoints (and the nodes of the current view) for the view now; returns the one routed by.</summary>
    public async Task<ShardView?> RefreshViewAsync(CancellationToken cancellationToken = default) =>
        (await RefreshAsync(cancellationToken))?.View;

    private async Task<DataAnswer> SendKeyAsync(HttpMethod method, CausalKvSession session, string key, string? value, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var started = Stopwatch.GetTimestamp();
        var activity = CausalKvClientTelemetry.Start(method.Method, key);
        try
        {
            var answer = await SendKeyRoutedAsync(method, session, key, value, activity, ct);
            var outcome = OutcomeOf(answer);
            CausalKvClientTelemetry.Ended(activity, method.Method, started, outcome,
                outcome is "ok" or "not_found" ? null : Failure(answer, null));
            return answer;
        }
        catch (Exception e)
        {
            CausalKvClientTelemetry.Ended(activity, method.Method, started, CausalKvClientTelemetry.OutcomeOf(e), e);
            throw;
        }
    }

    private static string OutcomeOf(DataAnswer answer) =>
        answer.IsSuccess ? "ok" : answer.Status == (int)HttpStatusCode.NotFound ? "not_found" : CausalKvClientTelemetry.OutcomeOf(Failure(answer, null));

    private async Task<DataAnswer> SendKeyRoutedAsync(HttpMethod method, CausalKvSession session, string key, string? value, Activity? activity, CancellationToken ct)
    {
        // One escaped path segment (KeyPath), sent as built: the node reads the key byte for byte from it.
        var path = KeyPath.PathOf(key)[1..];
        var body = RequestBody.Write(value, session.CausalMetadata);
        var isRead = method == HttpMethod.Get;
        DataAnswer answer;
        if (_options.Routing == CausalKvRouting.ViaRouter)
        {
            (answer, var router) = await SendViaRouterAsync(method, path, body, ct);
            CausalKvClientTelemetry.Answered(activity, null, router, answer.WaitedMs);
        }
        else
        {
            var table = await TableAsync(ct);
            for (var retry = 0; ; retry++)
            {
                var shard = table.ShardFor(key);
                var attempt = await SendToShardAsync(table, shard, method, path, body, isRead, ct);
                if (attempt.Answer is { } a && ViewRefresh.ForAnswer(a.Status, a.NotServing) == ViewRefreshReason.None)
                {
                    answer = a;
                    CausalKvClientTelemetry.Answered(activity, shard, attempt.AnsweredBy, a.WaitedMs);
                    break;
                }
                var reason = attempt.Answer is { } loop ? ViewRefresh.ForAnswer(loop.Status, loop.NotServing) : attempt.Reason;
                var refreshed = await RefreshAsync(ct);
                if (retry >= MaxViewRetries || refreshed is null || !ViewRefresh.RetryAfterRefresh(reason, table.Epoch, refreshed.Epoch))
                {
                    throw attempt.Answer is { } last ? Failure(last, shard) : Unreachable(shard, attempt);
                }
                table = refreshed;
            }
        }
        session.Observe(answer.Metadata);
        return answer;
    }

    /// <summary>The outcome of trying one shard's replicas: an answer, or why there is none.</summary>
    private readonly record struct ShardAttempt(DataAnswer? Answer, ViewRefreshReason Reason, List<string> Tried, Exception? LastError, Uri? AnsweredBy = null);

    private async Task<ShardAttempt> SendToShardAsync(RoutingTable table, string shard, HttpMethod method, string path, byte[]? body, bool isRead, CancellationToken ct)
    {
        var order = ReplicaOrder.For(table.ReplicasOf(shard), Environment.TickCount64, Random.Shared, isRead);
        var tried = new List<string>(order.Length);
        Exception? lastError = null;
        var reason = ViewRefreshReason.ShardUnreachable;
        foreach (var replica in order)
        {
            tried.Add(replica.Node.Address);
            replica.Begin();
            try
            {
                var answer = await SendOnceAsync(replica.BaseUri, method, path, body, ct);
                if (answer.NotServing)
                {
                    // It left the view (or has none): nothing was applied, the shard's next replica may take it.
                    replica.FailedToConnect(Environment.TickCount64, _options.FailedReplicaPenalty);
                    reason = ViewRefreshReason.NodeNotServing;
                    RefreshInBackground();
                    continue;
                }
                replica.Answered();
                // The node has a newer view: this answer stands (the node forwards what it does not own), the next
                // requests route by the newer view.
                if (answer.Epoch > table.Epoch) RefreshInBackground();
                return new ShardAttempt(answer, ViewRefreshReason.None, tried, null, replica.BaseUri);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsRetryable(e, isRead))
            {
                // The node may be down for good or gone from the view: look for a newer view while this request moves on.
                replica.FailedToConnect(Environment.TickCount64, _options.FailedReplicaPenalty);
                lastError = e;
                RefreshInBackground();
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is HttpRequestException or IOException)
            {
                throw new CausalKvException(
                    $"{replica} failed after the {method} of /{path} was sent ({e.Message}): it may or may not have been applied.", null, e);
            }
            finally
            {
                replica.End();
            }
        }
        return new ShardAttempt(null, reason, tried, lastError);
    }

    private async Task<(DataAnswer Answer, Uri Router)> SendViaRouterAsync(HttpMethod method, string path, byte[]? body, CancellationToken ct)
    {
        var first = (int)((uint)Interlocked.Increment(ref _endpointRotation) % (uint)_endpoints.Length);
        var tried = new List<string>(_endpoints.Length);
        Exception? lastError = null;
        for (var i = 0; i < _endpoints.Length; i++)
        {
            var endpoint = _endpoints[(first + i) % _endpoints.Length];
            tried.Add(endpoint.Authority);
            try
            {
                var answer = await SendOnceAsync(endpoint, method, path, body, ct);
                if (answer.NotServing) continue;
                return (answer, endpoint);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsRetryable(e, method == HttpMethod.Get))
            {
                lastError = e;
            }
        }
        throw new CausalKvShardUnreachableException(
            $"No endpoint could be reached ({string.Join(", ", tried)}): {lastError?.Message ?? "none serves data"}", null, tried, lastError);
    }

    /// <summary>A write is sent again elsewhere only when it cannot have reached the first replica; a read always may be.</summary>
    private static bool IsRetryable(Exception e, bool isRead) =>
        ConnectFailure.IsConnectPhase(e) || isRead && e is HttpRequestException or OperationCanceledException or IOException;

    private async Task<DataAnswer> SendOnceAsync(Uri baseUri, HttpMethod method, string path, byte[]? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, new Uri(baseUri.OriginalString + path, in KeyPath.UriOptions));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
        }
        // The request timeout's source is pooled, and linked to the caller's token only when there is one to follow.
        var timeout = RentTimeout();
        var linked = ct.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token) : null;
        var token = linked?.Token ?? timeout.Token;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, token);
            var bytes = await response.Content.ReadAsByteArrayAsync(token);
            var answer = DataAnswer.Read((int)response.StatusCode, response.Headers.Contains(NotServingHeader), bytes);
            if (response.Headers.TryGetValues(CausalWaitHeader, out var waited)
                && double.TryParse(waited.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms))
                answer.WaitedMs = ms;
            if (response.Headers.TryGetValues(EpochHeader, out var epochs)
                && long.TryParse(epochs.FirstOrDefault(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch))
                answer.Epoch = epoch;
            return answer;
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new CausalKvException($"{baseUri.Authority} did not answer {method} /{path} within {_options.RequestTimeout.TotalSeconds:0.#} s; a write may or may not have been applied.",
                null, e);
        }
        finally
        {
            linked?.Dispose();
            ReturnTimeout(timeout);
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentQueue<CancellationTokenSource> _timeouts = new();

    private CancellationTokenSource RentTimeout()
    {
        if (!_timeouts.TryDequeue(out var timeout)) timeout = new CancellationTokenSource();
        timeout.CancelAfter(_options.RequestTimeout);
        return timeout;
    }

    private void ReturnTimeout(CancellationTokenSource timeout)
    {
        if (timeout.TryReset() && _timeouts.Count < 1024) _timeouts.Enqueue(timeout);
        else timeout.Dispose();
    }

    private static readonly System.Net.Http.Headers.MediaTypeHeaderValue JsonContentType = new("application/json");

    // ---- the view ----------------------------------------------------------------------------------------------------

    /// <summary>The table to route by: fetched on first use; refreshed in the background once it has aged.</summary>
    private async ValueTask<RoutingTable> TableAsync(CancellationToken ct)
    {
        var table = Volatile.Read(ref _table);
        if (table is not null)
        {
            if (ViewRefresh.IsAged(table.FetchedAtMs, Environment.TickCount64, _options.ViewRefreshInterval)) RefreshInBackground();
            return table;
        }
        return await RefreshAsync(ct) ?? throw new CausalKvException(
            $"No endpoint answered GET /view with a view ({string.Join(", ", _endpoints.Select(e => e.Authority))}): is the cluster running, and its view installed?");
    }

    /// <summary>One refresh at a time; every caller waits for the one in flight (with its own cancellation).</summary>
    private Task<RoutingTable?> RefreshAsync(CancellationToken ct)
    {
        Task<RoutingTable?> task;
        lock (_refreshGate)
        {
            // A finished refresh is never reused: the next caller wants news from after its own request.
            if (_refreshing is null || _refreshing.IsCompleted) _refreshing = FetchViewAsync();
            task = _refreshing;
        }
        return task.WaitAsync(ct);
    }

    private void RefreshInBackground()
    {
        if (_lifetime.IsCancellationRequested) return;
        _ = RefreshAsync(CancellationToken.None).ContinueWith(t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task<RoutingTable?> FetchViewAsync()
    {
        var current = Volatile.Read(ref _table);
        var targets = _endpoints.Concat(current?.AllReplicas.Select(r => r.BaseUri) ?? []).Distinct().ToArray();
        var answers = await Task.WhenAll(targets.Select(AskViewAsync));
        var newest = answers.Where(v => v is not null).MaxBy(v => v!.Epoch);
        var now = Environment.TickCount64;
        current = Volatile.Read(ref _table);
        if (newest is null) return current;
        var next = RoutingTable.ShouldAdopt(current, newest) ? RoutingTable.For(newest, now, current) : current!.Confirmed(now);
        Volatile.Write(ref _table, next);
        return next;
    }

    private async Task<ShardView?> AskViewAsync(Uri target)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
        timeout.CancelAfter(ViewRequestTimeout);
        try
        {
            using var response = await _http.GetAsync(new Uri(target, "view"), timeout.Token);
            if (!response.IsSuccessStatusCode) return null;
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            return ViewJson.TryReadNodeAnswer(body, out _, out var view) ? view : null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    // ---- failures ----------------------------------------------------------------------------------------------------

    private static CausalKvException Failure(DataAnswer answer, string? shard)
    {
        var status = (HttpStatusCode)answer.Status;
        var message = answer.Error ?? $"The store answered {answer.Status}.";
        return answer.Status switch
        {
            // The causal-wait deadline: the node answers with the session's metadata (nothing else does).
            503 or 504 when answer.Metadata is not null => new CausalWaitTimeoutException(message, status),
            503 => new CausalKvShardUnreachableException(message, shard ?? answer.Shard, [], null, status),
            >= 400 and < 500 => new CausalKvRequestRefusedException(message, status),
            _ => new CausalKvException(message, status),
        };
    }

    private static CausalKvShardUnreachableException Unreachable(string shard, ShardAttempt attempt) =>
        new($"No replica of shard '{shard}' could be reached (tried {string.Join(", ", attempt.Tried)}): {attempt.LastError?.Message ?? "none serves data"}",
            shard, attempt.Tried, attempt.LastError);

    /// <summary>Stops view refreshes and closes the connections (when the client made its own handler).</summary>
    public void Dispose()
    {
        _lifetime.Cancel();
        _http.Dispose();
    }
}
