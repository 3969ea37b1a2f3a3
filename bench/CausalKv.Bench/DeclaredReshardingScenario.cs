using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CausalKv.Sharding;
using CausalKv.Tests.Distributed;

namespace CausalKv.Bench;

/// <summary>
/// A declared 2 -> 3 shard change with 1e5 keys, done by the router's reconciler: six nodes and a router started
/// from configuration alone (no AppHost; the declaration names kv-0..kv-5, 2 shards of 2 replicas, kv-4 and kv-5
/// spare), the keys loaded into their owners, then <c>PUT /cluster/declaration</c> with the next generation and 3
/// shards. Measured from that request: until the reconciler reports the new generation in sync, and until every
/// node holds exactly its shard's keys; keys moved (by <see cref="HashRing"/>, checked against the new shard's
/// <c>GET /data</c>) against K/3.
/// </summary>
internal static class DeclaredReshardingScenario
{
    private const int KeyCount = 100_000;
    private const int Nodes = 6;
    private static readonly long Generation2 = 2 * ClusterDeclaration.EpochsPerGeneration + 1;

    public static async Task RunAsync(Report report)
    {
        var key = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var data = Directory.CreateTempSubdirectory("causalkv-bench-declared-");
        try
        {
            await using var cluster = new LocalCluster(key);
            var ports = Enumerable.Range(0, Nodes).Select(_ => LocalCluster.FreePort()).ToArray();
            var nodes = ports.Select((p, i) => cluster.StartNode(i, p, ("CausalKv__DataDirectory", Path.Combine(data.FullName, $"kv-{i}")))).ToArray();
            var router = cluster.StartRouter("router", LocalCluster.FreePort(),
            [
                ("CausalKv__Cluster__Generation", "1"),
                ("CausalKv__Cluster__Shards", "2"),
                ("CausalKv__Cluster__ReplicasPerShard", "2"),
                ("CausalKv__Cluster__Members", string.Join(',', Enumerable.Range(0, Nodes).Select(i => $"kv-{i}"))),
                .. ports.Select((p, i) => ($"CausalKv__Cluster__Addresses__kv-{i}", $"127.0.0.1:{p}")),
            ]);
            using var http = new HttpClient { BaseAddress = router.Url, Timeout = TimeSpan.FromSeconds(60) };
            var clients = nodes.Select(n => new HttpClient { BaseAddress = n.Url, Timeout = TimeSpan.FromSeconds(120) }).ToArray();
            // GET /admin/digest, which the wait for equal replicas reads, demands the cluster key.
            foreach (var client in clients) client.DefaultRequestHeaders.Add("X-CausalKv-Key", key);
            try
            {
                await ReconcilerAsync(http, r => r.GetProperty("action").GetString() == "InSync", TimeSpan.FromMinutes(2), router);
                var before = await LayoutAsync(http);
                var keys = Enumerable.Range(0, KeyCount).Select(i => "dk" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
                var ringBefore = new HashRing(before.Keys);

                Console.WriteLine($"Loading {KeyCount} keys into {before.Count} shards...");
                var load = Stopwatch.StartNew();
                await LoadToOwnersAsync(keys, k => before[ringBefore.ShardFor(k)], clients);
                load.Stop();
                foreach (var ids in before.Values)
                    await Cluster.WaitEqualAsync(ids.Select(i => clients[i]).ToList(), TimeSpan.FromSeconds(120), pollMs: 100);

                Console.WriteLine("Declaring generation 2: 3 shards of 2 (kv-4 and kv-5 join)...");
                using var declare = new HttpRequestMessage(HttpMethod.Put, "/cluster/declaration")
                {
                    Content = new StringContent(
                        $$"""{"generation": 2, "shards": 3, "replicasPerShard": 2, "members": [{{string.Join(',', Enumerable.Range(0, Nodes).Select(i => $"\"kv-{i}\""))}}]}""",
                        Encoding.UTF8, "application/json"),
                };
                declare.Headers.Add("X-CausalKv-Key", key);
                var change = Stopwatch.StartNew();
                using (var accepted = await http.SendAsync(declare))
                    if (accepted.StatusCode != HttpStatusCode.Accepted)
                        throw new InvalidOperationException($"PUT /cluster/declaration answered {(int)accepted.StatusCode}: {await accepted.Content.ReadAsStringAsync()}");
                var state = await ReconcilerAsync(http,
                    r => r.GetProperty("epoch").GetInt64() == Generation2 && r.GetProperty("action").GetString() == "InSync", TimeSpan.FromMinutes(3), router);
                var reconciled = change.Elapsed;

                var after = await LayoutAsync(http);
                var ringAfter = new HashRing(after.Keys);
                var expectedByNode = after.SelectMany(kv => kv.Value.Select(id => (id, shard: kv.Key)))
                    .ToDictionary(x => x.id, x => keys.Where(k => ringAfter.ShardFor(k) == x.shard).ToHashSet(StringComparer.Ordinal));
                var counts = await WaitStatusCountsAsync(clients, expectedByNode, change, TimeSpan.FromMinutes(3));
                var exact = await WaitExactAsync(clients, expectedByNode, change, TimeSpan.FromMinutes(3));

                var newShard = after.Keys.Except(before.Keys).Single();
                var moved = keys.Count(k => ringBefore.ShardFor(k) != ringAfter.ShardFor(k));
                var betweenOld = keys.Count(k => ringBefore.ShardFor(k) != ringAfter.ShardFor(k) && ringAfter.ShardFor(k) != newShard);
                var expected = KeyCount / 3.0;
                var newShardHolds = after[newShard].Select(id => expectedByNode[id].Count).ToArray();
                report.Add(new()
                {
                    ["keys K"] = KeyCount,
                    ["shards"] = "2 -> 3 (declared, generation 1 -> 2)",
                    ["K/3"] = expected,
                    ["keys moved (HashRing)"] = moved,
                    ["moved / (K/3)"] = Math.Round(moved / expected, 3),
                    ["moved between old shards"] = betweenOld,
                    [$"{newShard} GET /data"] = string.Join(", ", newShardHolds),
                    ["reconciler reports generation 2 in sync (ms)"] = reconciled.TotalMilliseconds,
                    ["every store holds exactly its keys (ms, /admin/status counts)"] = counts.TotalMilliseconds,
                    ["every GET /data exact (ms, verifying poll started / returned)"] =
                        string.Create(CultureInfo.InvariantCulture, $"{exact.Started.TotalMilliseconds:0} / {exact.At.TotalMilliseconds:0}"),
                    ["reconciler installs"] = state.GetProperty("installs").GetInt32(),
                });
                var within = Math.Abs(moved / expected - 1);
                var table = new StringBuilder()
                    .AppendLine($"Layout before: {Describe(before)}; after: {Describe(after)}.")
                    .AppendLine()
                    .AppendLine($"Load: {KeyCount} keys in {load.Elapsed.TotalSeconds:0.0} s ({KeyCount / load.Elapsed.TotalSeconds:0} writes/s, 64 at a time, to a replica of the owning shard).")
                    .AppendLine().AppendLine("| target | measured | |").AppendLine("|---|---|---|")
                    .AppendLine($"| keys moved within 5% of K/3 = {expected:0} | {moved} ({(moved / expected - 1) * 100:+0.0;-0.0}%), none between the old shards: {betweenOld} | {(within <= 0.05 && betweenOld == 0 ? "**met**" : "**not met**")} |");
                report.AddSection(table.ToString());
                report.Data["loadSeconds"] = load.Elapsed.TotalSeconds;
                report.Data["reconciledMs"] = reconciled.TotalMilliseconds;
                report.Data["reconcilerState"] = state.GetRawText();
            }
            finally
            {
                foreach (var c in clients) c.Dispose();
            }
        }
        finally
        {
            try { data.Delete(recursive: true); } catch (IOException) { }
        }
    }

    private static string Describe(IReadOnlyDictionary<string, int[]> layout) =>
        string.Join(", ", layout.Select(kv => $"{kv.Key}: {string.Join(" ", kv.Value.Select(i => $"kv-{i}"))}"));

    /// <summary>The router's view: shard -> node ids.</summary>
    private static async Task<Dictionary<string, int[]>> LayoutAsync(HttpClient router)
    {
        var view = await router.GetFromJsonAsync<JsonElement>("/view");
        return view.GetProperty("view").EnumerateObject().ToDictionary(s => s.Name, s => s.Value.EnumerateArray().Select(n => n.GetProperty("id").GetInt32()).ToArray());
    }

    /// <summary>The <c>reconciler</c> part of the router's <c>GET /cluster/state</c>, once it satisfies <paramref name="done"/>.</summary>
    private static async Task<JsonElement> ReconcilerAsync(HttpClient router, Func<JsonElement, bool> done, TimeSpan within, LocalProcess process)
    {
        var clock = Stopwatch.StartNew();
        var last = "no answer";
        while (clock.Elapsed < within)
        {
            try
            {
                var state = await router.GetFromJsonAsync<JsonElement>("/cluster/state");
                if (state.TryGetProperty("reconciler", out var r) && r.ValueKind == JsonValueKind.Object)
                {
                    if (done(r)) return r.Clone();
                    last = r.GetRawText();
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException($"The reconciler did not report what was expected within {within}: {last}\n{process.Tail}");
    }

    private static async Task LoadToOwnersAsync(string[] keys, Func<string, int[]> replicasOf, HttpClient[] clients)
    {
        var body = Encoding.UTF8.GetBytes($"{{\"value\":\"{Cluster.Value100}\"}}");
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Length), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            var replicas = replicasOf(keys[i]);
            var client = clients[replicas[i % replicas.Length]];
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await client.PutAsync($"/data/{keys[i]}", content, ct);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"PUT {keys[i]}: {(int)response.StatusCode}");
        });
    }

    /// <summary>Every node's /admin/status key count equals its shard's, no handoff pending, caught up; the time since the change.</summary>
    private static async Task<TimeSpan> WaitStatusCountsAsync(HttpClient[] clients, Dictionary<int, HashSet<string>> expected, Stopwatch since, TimeSpan within)
    {
        while (true)
        {
            try
            {
                var statuses = await Task.WhenAll(expected.Keys.Select(async i => (i, s: await clients[i].GetFromJsonAsync<JsonElement>("/admin/status"))));
                if (statuses.All(x => x.s.GetProperty("keys").GetInt32() == expected[x.i].Count
                                       && x.s.GetProperty("handoffPendingFrom").GetArrayLength() == 0
                                       && x.s.GetProperty("caughtUp").GetBoolean()))
                    return since.Elapsed;
            }
            catch (HttpRequestException)
            {
            }
            if (since.Elapsed > within) throw new TimeoutException("Stores did not settle after the declared change.");
            await Task.Delay(10);
        }
    }

    /// <summary>Every node's GET /data holds exactly its shard's keys: when the verifying poll started and returned.</summary>
    private static async Task<(TimeSpan Started, TimeSpan At)> WaitExactAsync(HttpClient[] clients, Dictionary<int, HashSet<string>> expected, Stopwatch since, TimeSpan within)
    {
        while (true)
        {
            var started = since.Elapsed;
            var sets = await Task.WhenAll(expected.Keys.Select(async i => (i, items: await ItemsAsync(clients[i]))));
            if (sets.All(x => x.items is not null && x.items.SetEquals(expected[x.i]))) return (started, since.Elapsed);
            if (since.Elapsed > within) throw new TimeoutException("GET /data did not settle after the declared change.");
            await Task.Delay(50);
        }
    }

    /// <summary>Every key of the node's GET /data, page after page (a shard of 1e5/3 keys is more than one answer holds).</summary>
    private static async Task<HashSet<string>?> ItemsAsync(HttpClient client)
    {
        var items = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        do
        {
            var path = "/data?limit=10000" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await client.GetAsync(path);
            if (response.StatusCode != HttpStatusCode.OK) return null;
            await using var stream = await response.Content.ReadAsStreamAsync();
            using var doc = await JsonDocument.ParseAsync(stream);
            foreach (var p in doc.RootElement.GetProperty("items").EnumerateObject()) items.Add(p.Name);
            cursor = doc.RootElement.TryGetProperty("next-cursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);
        return items;
    }
}
