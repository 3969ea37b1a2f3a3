using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Protocol;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>Five nodes; the test sends every view to the nodes itself.</summary>
public sealed class ViewChangeCausalityFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() =>
        KvApp.Create(nodes: 5, shards: 2).WithNodeSetting("CausalWaitDeadline", "00:00:20");
}

/// <summary>
/// Guarantees 1 and 8 while a view change is in flight: sessions keep reading and writing a handful of keys through
/// random nodes while each new view reaches the nodes in an adversarial order (some nodes long before the others),
/// several changes in a row. Every value is written once, so the history decides: no read of a key the session wrote
/// or read before may answer 404, nor a value the session has seen replaced.
/// </summary>
public sealed class ViewChangeCausalityTests(ViewChangeCausalityFixture cluster, ITestOutputHelper output)
    : IClassFixture<ViewChangeCausalityFixture>, IDisposable
{
    private const int Sessions = 6;
    private const int KeyCount = 6;
    private const int Nodes = 5;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly ConcurrentDictionary<int, HttpClient> _clients = new();
    private readonly ConcurrentQueue<string> _timeline = new();
    private int _operations;

    private sealed record Operation(int Session, int Index, string Kind, string Key, int Node, string? Written,
        HttpStatusCode Status, string? Read, string? Error, double Start, double End);

    private static Dictionary<string, int[]> Layout(params (string Shard, int[] Nodes)[] shards) =>
        shards.ToDictionary(s => s.Shard, s => s.Nodes, StringComparer.Ordinal);

    /// <summary>The layouts the cluster goes through, each from the one before: shards added and removed, nodes moved.</summary>
    private static readonly Dictionary<string, int[]>[] Changes =
    [
        Layout(("shard0", [0, 1, 2]), ("shard1", [3, 4])),
        Layout(("shard0", [0, 1]), ("shard1", [3, 4]), ("shard2", [2])),
        Layout(("shard0", [0, 1]), ("shard1", [2, 3, 4])),
        Layout(("shard0", [0, 4]), ("shard1", [1, 2, 3])),
        Layout(("shard0", [0, 1, 2]), ("shard1", [3, 4])),
        Layout(("shard0", [0]), ("shard1", [3, 4]), ("shard2", [1, 2])),
        Layout(("shard0", [0, 3]), ("shard2", [1, 2, 4])),
        Layout(("shard0", [0, 1, 2]), ("shard1", [3, 4])),
    ];

    [Fact]
    public async Task Reads_stay_causal_while_views_reach_the_nodes_in_any_order()
    {
        var epoch = await HighestEpochAsync();
        await PutViewAsync(Changes[0], ++epoch, Order.AllAtOnce);
        var keys = Enumerable.Range(0, KeyCount).Select(i => $"{_p}k{i}").ToArray();
        var seed = new KvSession();
        foreach (var key in keys)
            Assert.True((await seed.PutAsync(Client(0), key, key + "-initial")).Status is HttpStatusCode.Created or HttpStatusCode.OK);

        var history = new ConcurrentQueue<Operation>();
        using var stop = new CancellationTokenSource();
        var sessions = Enumerable.Range(0, Sessions).Select(s => Task.Run(() => RunSessionAsync(s, keys, history, stop.Token))).ToArray();
        try
        {
            await OperationsAsync(30);
            var orders = new[] { Order.LosersFirst, Order.GainersLast, Order.OneNodeLate, Order.Reversed, Order.StayersFirst };
            for (var i = 1; i < Changes.Length; i++)
            {
                await PutViewAsync(Changes[i], ++epoch, orders[(i - 1) % orders.Length], Changes[i - 1]);
                await OperationsAsync(30);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(sessions);
        }

        var ops = history.OrderBy(o => o.Start).ToList();
        output.WriteLine($"{ops.Count} operations by {Sessions} sessions on {KeyCount} keys; views:");
        foreach (var line in _timeline) output.WriteLine("  " + line);
        var refused = ops.Where(o => (int)o.Status >= 500).ToList();
        output.WriteLine($"{refused.Count} answered 5xx: " + string.Join("; ", refused.Take(5).Select(Describe)));
        var violations = Check(ops);
        foreach (var v in violations.Take(20)) output.WriteLine("VIOLATION " + v);
        Assert.True(violations.Count == 0, $"{violations.Count} reads broke causality during view changes, e.g. {violations.FirstOrDefault()}");
        // A node that cannot answer forwards to one that can, or waits: the nodes' views disagreeing is no answer.
        var loops = ops.Where(o => o.Status == HttpStatusCode.LoopDetected).ToList();
        Assert.True(loops.Count == 0, $"{loops.Count} requests were refused as forwarding loops between views, e.g. {string.Join("; ", loops.Take(3).Select(Describe))}");
        Assert.True(ops.Count(o => o.Kind == "put" && o.Status is not (HttpStatusCode.OK or HttpStatusCode.Created)) == 0,
            "every write succeeds: " + string.Join("; ", ops.Where(o => o.Kind == "put" && o.Status is not (HttpStatusCode.OK or HttpStatusCode.Created)).Take(5).Select(Describe)));
    }

    /// <summary>
    /// Per session and key, what it observed (wrote, or read) in order: a read must not be a 404 once it observed a
    /// value, nor a value it observed before and saw replaced since (values are unique, and no key is deleted).
    /// </summary>
    private static List<string> Check(List<Operation> ops)
    {
        var violations = new List<string>();
        foreach (var session in ops.GroupBy(o => o.Session))
        {
            var seen = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var op in session.OrderBy(o => o.Index))
            {
                var past = seen.TryGetValue(op.Key, out var list) ? list : seen[op.Key] = [];
                if (op.Kind == "put")
                {
                    if (op.Status is HttpStatusCode.OK or HttpStatusCode.Created) past.Add(op.Written!);
                    continue;
                }
                if (op.Status == HttpStatusCode.NotFound && past.Count > 0)
                    violations.Add($"{Describe(op)}: 404 after the session saw '{past[^1]}'");
                else if (op.Status == HttpStatusCode.OK)
                {
                    var at = past.LastIndexOf(op.Read!);
                    if (at >= 0 && at < past.Count - 1)
                        violations.Add($"{Describe(op)}: older value, the session saw '{past[^1]}' after '{op.Read}'");
                    if (past.Count == 0 || past[^1] != op.Read) past.Add(op.Read!);
                }
            }
        }
        return violations;
    }

    private static string Describe(Operation o) =>
        $"session {o.Session} op {o.Index} {o.Kind} {o.Key}{(o.Written is null ? "" : "=" + o.Written)} at node{o.Node} " +
        $"[{o.Start:0.000}-{o.End:0.000} s]: {(int)o.Status} {o.Read ?? o.Error}";

    private async Task RunSessionAsync(int s, string[] keys, ConcurrentQueue<Operation> history, CancellationToken stop)
    {
        var random = new Random(s * 7919 + 17);
        var session = new KvSession();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var key = keys[random.Next(keys.Length)];
            var node = random.Next(Nodes);
            var write = random.Next(3) == 0;
            var value = write ? $"s{s}o{i}" : null;
            var start = _clock.Elapsed.TotalSeconds;
            KvSession.Answer answer;
            try
            {
                answer = write ? await session.PutAsync(Client(node), key, value!) : await session.GetAsync(Client(node), key);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // No answer: the session cannot know what happened, so it stops here (what it saw so far is checked).
                history.Enqueue(new Operation(s, i, write ? "put" : "get", key, node, value, HttpStatusCode.RequestTimeout, null, e.Message, start, _clock.Elapsed.TotalSeconds));
                return;
            }
            history.Enqueue(new Operation(s, i, write ? "put" : "get", key, node, value, answer.Status, write ? null : answer.Value,
                answer.Error, start, _clock.Elapsed.TotalSeconds));
            Interlocked.Increment(ref _operations);
        }
    }

    /// <summary>
    /// Until the sessions made <paramref name="count"/> more operations (so each order of views meets traffic), or at most
    /// <paramref name="within"/>: while nodes hold different views, reads may rightly wait for the rest of the change.
    /// </summary>
    private async Task OperationsAsync(int count, TimeSpan? within = null)
    {
        var target = Volatile.Read(ref _operations) + count;
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (Volatile.Read(ref _operations) < target && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    private enum Order { AllAtOnce, LosersFirst, GainersLast, OneNodeLate, Reversed, StayersFirst }

    /// <summary>
    /// Sends the view to every node, in two waves: the first wave answers (its handoffs done) and the sessions make a
    /// few more operations before the second wave gets the view, so nodes hold different views meanwhile.
    /// </summary>
    private async Task PutViewAsync(Dictionary<string, int[]> layout, long epoch, Order order, Dictionary<string, int[]>? before = null)
    {
        var all = Enumerable.Range(0, Nodes).ToArray();
        string? NameOf(Dictionary<string, int[]>? l, int id) => l?.FirstOrDefault(s => s.Value.Contains(id)).Key;
        var moved = all.Where(id => NameOf(before, id) != NameOf(layout, id)).ToArray();
        var stayed = all.Except(moved).ToArray();
        int[] first = order switch
        {
            Order.AllAtOnce => all,
            // The nodes that leave a shard get it first (they hand their keys to nodes still on the old view).
            Order.LosersFirst => moved.Length > 0 ? moved : all[..1],
            // Everyone but the members that stay: those learn last that keys came to their shard.
            Order.GainersLast => moved.Length > 0 ? moved.Concat(stayed.Take(1)).ToArray() : all[..2],
            // Every node but one.
            Order.OneNodeLate => all.Where(id => id != epoch % Nodes).ToArray(),
            // The nodes that keep their shard: they take keys from, and hand keys to, nodes still on the old view.
            Order.StayersFirst => stayed.Length > 0 ? stayed : all[..1],
            _ => all.Reverse().Take(2).ToArray(),
        };
        var second = all.Except(first).ToArray();
        var body = cluster.App.ViewBody(layout, epoch).ToJsonString();
        _timeline.Enqueue($"{_clock.Elapsed.TotalSeconds:0.000} s: epoch {epoch} ({string.Join(", ", layout.Select(s => $"{s.Key}=[{string.Join(",", s.Value)}]"))}) to nodes [{string.Join(",", first)}] first");
        await Task.WhenAll(first.Select(id => PutViewAtAsync(id, body)));
        if (second.Length == 0) return;
        await OperationsAsync(15, TimeSpan.FromSeconds(2));
        _timeline.Enqueue($"{_clock.Elapsed.TotalSeconds:0.000} s: epoch {epoch} to nodes [{string.Join(",", second)}]");
        await Task.WhenAll(second.Select(id => PutViewAtAsync(id, body)));
        _timeline.Enqueue($"{_clock.Elapsed.TotalSeconds:0.000} s: epoch {epoch} installed everywhere");
    }

    private async Task PutViewAtAsync(int id, string body)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, "/view") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        put.Headers.Add(ProtocolHeaders.ClusterKey, cluster.App.ClusterKey);
        using var response = await Client(id).SendAsync(put);
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT /view at node{id}: {(int)response.StatusCode} {answer}");
    }

    private async Task<long> HighestEpochAsync()
    {
        long highest = 0;
        for (var id = 0; id < Nodes; id++)
        {
            var view = JsonNode.Parse(await Client(id).GetStringAsync("/view"))!;
            highest = Math.Max(highest, view["epoch"]!.GetValue<long>());
        }
        return highest;
    }

    private HttpClient Client(int id) => _clients.GetOrAdd(id, i => cluster.App.CreateHttpClient($"node{i}", RequestTimeout));

    public void Dispose()
    {
        foreach (var client in _clients.Values) client.Dispose();
    }
}
