using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using CausalKv.Hosting;
using CausalKv.Protocol;
using CausalKv.Sharding;

namespace CausalKv.Tests.Distributed.Support;

/// <summary>
/// Views put by hand with <c>PUT /view</c>, for tests that run a cluster no router reconciles
/// (<c>--CausalKv:AppHost:Reconcile=false</c>) and choose which node gets which view when: the first view once every
/// node answers, the current view again for a node started again, a layout on some nodes only and the rest later.
/// Invariant: every view it sends carries an epoch above every epoch it sent before, so a node never sees two layouts
/// under one epoch from it.
/// </summary>
internal sealed class ViewInstaller : IDisposable
{
    private readonly CausalKvClusterResource _kv;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Dictionary<string, int[]> _layout;
    private (Dictionary<string, int[]> Layout, Dictionary<string, int[]> Previous, long Epoch, HashSet<int> Done)? _pending;
    private long _epoch;

    public ViewInstaller(CausalKvClusterResource kv, string clusterKey)
    {
        _kv = kv;
        _layout = Copy(kv.Control.Layout);
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), UseProxy = false }) { Timeout = TimeSpan.FromSeconds(100) };
        _http.DefaultRequestHeaders.Add(ProtocolHeaders.ClusterKey, clusterKey);
    }

    /// <summary>The layout last installed: shard name -> node ids.</summary>
    public IReadOnlyDictionary<string, int[]> Layout => _layout;

    public long Epoch => Interlocked.Read(ref _epoch);

    /// <summary>
    /// The declared layout on every node at the epoch after the newest any of them holds (nodes started on the data
    /// directory of an earlier run resume the view they had: go on from it).
    /// </summary>
    public async Task InstallFirstAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var first = _layout.Values.SelectMany(x => x).ToArray();
            var epoch = await HighestEpochAsync(first, ct) + 1;
            await PutViewAsync(first, _layout, epoch, ct);
            Interlocked.Exchange(ref _epoch, epoch);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A node started again gets the current view back (when it is in it).</summary>
    public async Task RejoinAsync(int id, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (Epoch > 0 && _layout.Values.Any(ids => ids.Contains(id))) await PutViewAsync([id], _layout, Epoch, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Installs <paramref name="layout"/> with the next epoch on every running node of the old and the new view (or only
    /// on <paramref name="onlyOn"/>; <see cref="CompleteViewAsync"/> then does the rest), and returns the epoch. Each
    /// node answers once its handoff is acknowledged.
    /// </summary>
    public async Task<long> InstallViewAsync(IReadOnlyDictionary<string, int[]> layout, IEnumerable<int>? onlyOn = null, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var epoch = Epoch + 1;
            var only = onlyOn?.ToHashSet();
            var targets = _layout.Values.SelectMany(x => x).Concat(layout.Values.SelectMany(x => x)).Distinct()
                .Where(id => only is null || only.Contains(id)).Where(_kv.Control.IsRunning).ToArray();
            var previous = _layout;
            _pending = only is null ? null : (Copy(layout), previous, epoch, only);
            _layout = Copy(layout);
            Interlocked.Exchange(ref _epoch, epoch);
            await PutViewAsync(targets, layout, epoch, ct);
            return epoch;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Installs the view a partial <see cref="InstallViewAsync"/> left out on the remaining nodes.</summary>
    public async Task CompleteViewAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_pending is not { } pending) return;
            var targets = pending.Previous.Values.SelectMany(x => x).Concat(pending.Layout.Values.SelectMany(x => x)).Distinct()
                .Where(id => !pending.Done.Contains(id)).Where(_kv.Control.IsRunning).ToArray();
            _pending = null;
            await PutViewAsync(targets, pending.Layout, pending.Epoch, ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The <c>PUT /view</c> body: <c>{"view": {"shard0": [{"address", "id"}]}, "epoch": n}</c>.</summary>
    public static JsonObject Body(IReadOnlyDictionary<string, int[]> layout, Func<int, string> address, long? epoch)
    {
        var view = new JsonObject();
        foreach (var (shard, ids) in layout.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            view[shard] = new JsonArray(ids.Select(id => (JsonNode)new JsonObject { ["address"] = address(id), ["id"] = id }).ToArray());
        var body = new JsonObject { ["view"] = view };
        if (epoch is not null) body["epoch"] = epoch;
        return body;
    }

    /// <summary>The newest view epoch any of <paramref name="ids"/> follows (0 when none has a view).</summary>
    private async Task<long> HighestEpochAsync(IEnumerable<int> ids, CancellationToken ct)
    {
        var epochs = await Task.WhenAll(ids.Select(async id =>
        {
            using var response = await _http.GetAsync(new Uri(_kv.Node(id).Url, "/view"), ct);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            return response.IsSuccessStatusCode && ViewJson.TryReadNodeAnswer(body, out var epoch, out _) ? epoch : 0;
        }));
        return epochs.Length == 0 ? 0 : epochs.Max();
    }

    private async Task PutViewAsync(IReadOnlyCollection<int> targets, IReadOnlyDictionary<string, int[]> layout, long epoch, CancellationToken ct)
    {
        var body = Body(layout, id => _kv.Node(id).Address, epoch);
        var results = await Task.WhenAll(targets.Select(async id =>
        {
            var node = _kv.Node(id);
            using var response = await _http.PutAsync(new Uri(node.Url, "/view"), JsonContent.Create(body), ct);
            return (node.Name, response.StatusCode, Text: await response.Content.ReadAsStringAsync(ct));
        }));
        var failed = results.Where(r => r.StatusCode != HttpStatusCode.OK).ToList();
        if (failed.Count > 0)
            throw new InvalidOperationException("View change incomplete: " + string.Join("; ", failed.Select(f => $"{f.Name}: {(int)f.StatusCode} {f.Text}")));
    }

    private static Dictionary<string, int[]> Copy(IReadOnlyDictionary<string, int[]> layout) =>
        layout.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);

    public void Dispose()
    {
        _http.Dispose();
        _gate.Dispose();
    }
}
