using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using CausalKv.Causality;
using System.Net.Sockets;
using CausalKv.Hosting;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Tests.Distributed;
using static CausalKv.Bench.BenchSettings;

namespace CausalKv.Bench;

/// <summary>
/// The node's storage, in two parts. Throughput: three pairs (one shard of two replicas each) side by side, versions in
/// memory (<c>CausalKv:Storage=Memory</c>), in RocksDB with <c>Durability=Process</c> and with <c>Durability=Fsync</c>;
/// wrk GET and PUT at 64 connections on node 0 of each, interleaved rounds, medians, with node 0's CPU per request.
/// Scale: a RocksDB store of N keys (100-byte random values) written straight into the engine, a node started on it (64 MiB
/// cache), timed from process start to its first answer to a GET of a key, then its RSS after 20,000 random reads, and
/// the store's bytes on disk per key; against it, the time the JSON-lines log of earlier versions took to replay N keys
/// at start (the whole log, in memory).
/// </summary>
internal static class StorageScenario
{
    private const int Keys = 10_000;
    private const int Connections = 64;
    private static readonly (string Op, string Script)[] Ops = [("GET", "get.lua"), ("PUT", "put.lua")];
    private static readonly string[] Targets = ["memory", "RocksDB Process", "RocksDB Fsync"];

    public static async Task RunAsync(Report report)
    {
        await ThroughputAsync(report);
        await ScaleAsync(report);
    }

    private static readonly Dictionary<string, string> NoEnv = [];

    private static async Task ThroughputAsync(Report report)
    {
        var wrkVersion = await Wrk.EnsureInstalledAsync();
        var scripts = BenchPaths.CopyToTemp(Path.Combine(BenchPaths.SharedBench, "wrk"), "causalkv-wrk-");
        try
        {
            Console.WriteLine("Starting three pairs: memory, RocksDB Process, RocksDB Fsync...");
            await using var memory = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1).WithoutRouter().WithNodeSetting("Storage", "Memory"));
            await using var process = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1).WithoutRouter());
            await using var fsync = await Cluster.StartAsync(() => KvApp.Create(nodes: 2, shards: 1).WithoutRouter().WithNodeSetting("Durability", "Fsync"));
            var apps = new Dictionary<string, KvApp> { [Targets[0]] = memory, [Targets[1]] = process, [Targets[2]] = fsync };
            var pids = new Dictionary<string, int>();
            foreach (var (name, app) in apps)
            {
                using var n0 = app.CreateHttpClient("node0");
                await Cluster.LoadAsync(n0, Enumerable.Range(0, Keys).Select(i => "k" + i.ToString(CultureInfo.InvariantCulture)));
                pids[name] = await app.ProcessIdAsync("node0");
            }
            report.Notes.Add($"Throughput: wrk ({wrkVersion}), -t2 -c{Connections} -d{Duration.TotalSeconds:0}s, KEYS={Keys} preloaded (100-byte values), " +
                             $"on node 0 of a pair (a PUT is replicated to node 1, which stores it the same way). {Rounds} interleaved rounds; medians.");
            Console.WriteLine("Warming up...");
            foreach (var (_, script) in Ops)
                foreach (var t in Targets)
                    await Wrk.RunAsync(scripts, script, apps[t].Endpoint("node0"), 16, TimeSpan.FromSeconds(2), Keys, NoEnv);
            var runs = new List<(string Op, string Target, WrkResult R, double Cpu)>();
            for (var round = 1; round <= Rounds; round++)
            {
                Console.WriteLine($"Round {round} of {Rounds} (load average {Machine.LoadAverage()})");
                var order = Targets.Skip(round % Targets.Length).Concat(Targets.Take(round % Targets.Length)).ToArray();
                foreach (var (op, script) in Ops)
                    foreach (var t in order)
                    {
                        var before = Machine.CpuTime(pids[t]);
                        var r = await Wrk.RunAsync(scripts, script, apps[t].Endpoint("node0"), Connections, Duration, Keys, NoEnv);
                        var cpu = (Machine.CpuTime(pids[t]) - before).TotalMicroseconds / Math.Max(1, r.Requests);
                        runs.Add((op, t, r, cpu));
                        Console.WriteLine($"  {op,-4} {t,-16} {r.RequestsPerSecond,9:0} ops/s  p99 {r.P99Ms:0.##} ms  errors {r.Non2xx + r.SocketErrors}  node0 {cpu:0.0} µs CPU/request");
                    }
            }
            foreach (var (op, _) in Ops)
            {
                var memoryOps = Median(runs.Where(x => x.Op == op && x.Target == Targets[0]).Select(x => x.R.RequestsPerSecond));
                foreach (var t in Targets)
                {
                    var mine = runs.Where(x => x.Op == op && x.Target == t).ToList();
                    var ops = Median(mine.Select(x => x.R.RequestsPerSecond));
                    report.Add(new()
                    {
                        ["op (64 conns, node 0)"] = op,
                        ["storage"] = t,
                        ["ops/s"] = Math.Round(ops),
                        ["vs memory"] = Math.Round(ops / memoryOps, 3),
                        ["p50 / p99 ms"] = string.Create(CultureInfo.InvariantCulture, $"{Median(mine.Select(x => x.R.P50Ms)):0.00} / {Median(mine.Select(x => x.R.P99Ms)):0.00}"),
                        ["node0 CPU µs/request"] = Math.Round(Median(mine.Select(x => x.Cpu)), 1),
                        ["errors"] = mine.Sum(x => x.R.Non2xx + x.R.SocketErrors),
                    });
                }
            }
        }
        finally
        {
            BenchPaths.DeleteTemp(scripts);
        }
    }

    private static async Task ScaleAsync(Report report)
    {
        var sizes = (Environment.GetEnvironmentVariable("STORAGE_KEYS") ?? "100000,1000000,10000000")
            .Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var root = Directory.CreateTempSubdirectory("causalkv-storage-").FullName;
        try
        {
            foreach (var n in sizes)
            {
                var dir = Path.Combine(root, n.ToString(CultureInfo.InvariantCulture));
                Console.WriteLine($"{n} keys: writing the store (load average {Machine.LoadAverage()})...");
                var build = Stopwatch.StartNew();
                Build(dir, n);
                Console.WriteLine($"  written in {build.Elapsed.TotalSeconds:0.0} s");
                var port = FreePort();
                // The first start installs the node's view; the measured one resumes it from the data directory.
                await using (var first = await NodeProcess.StartAsync(dir, port))
                {
                    await first.WaitServingAsync(TimeSpan.FromMinutes(10));
                    await first.InstallViewAsync();
                }
                await using var node = await NodeProcess.StartAsync(dir, port);
                var serving = await node.WaitServingAsync(TimeSpan.FromMinutes(10));
                var random = new Random(n);
                await Parallel.ForAsync(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, ct) =>
                {
                    var key = "k" + random.Next(n).ToString(CultureInfo.InvariantCulture);
                    using var response = await node.Http.GetAsync($"/data/{key}", ct);
                    if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"GET {key}: {(int)response.StatusCode}");
                });
                var rss = Cluster.RssBytes(node.Pid);
                var disk = Directory.EnumerateFiles(Path.Combine(dir, NodeStorage.StoreFolder), "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                var legacy = n <= 1_000_000 ? LegacyReplaySeconds(Path.Combine(root, "legacy"), n) : double.NaN;
                var row = new Dictionary<string, object?>
                {
                    ["storage"] = "RocksDB, 64 MiB cache",
                    ["keys"] = n.ToString("N0", CultureInfo.InvariantCulture),
                    ["start to serving (ms)"] = Math.Round(serving.TotalMilliseconds),
                    ["node RSS after 20k random reads (MiB)"] = Math.Round(rss / 1048576.0, 1),
                    ["disk bytes per key"] = Math.Round((double)disk / n),
                    ["JSON-lines log replay at start, earlier versions (ms)"] = double.IsNaN(legacy) ? "- (not run: ~10 GB in memory)" : Math.Round(legacy * 1000),
                };
                report.Add(row);
                Console.WriteLine("  " + string.Join("; ", row.Select(kv => $"{kv.Key}: {kv.Value}")));
                Directory.Delete(dir, recursive: true);
            }
            report.Notes.Add("Scale: each store is written straight into the engine (1000 keys per commit), then a node (64 MiB block cache, the default) is started on it twice; " +
                             "the second start is timed, from launching the process to its first 200 for a GET of a key (the node resumes its view from its data directory). " +
                             "The log of earlier versions is timed replaying in the bench process, as the node did before it served.");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Build(string dir, int n)
    {
        using var table = RocksDbVersionTable.Open(Path.Combine(dir, NodeStorage.StoreFolder), Durability.Process, 8 << 20);
        var origin = OriginId.Create(0, 1);
        var random = new Random(n);
        var bytes = new byte[75];
        for (var i = 0; i < n; i++)
        {
            random.NextBytes(bytes);
            // 100 characters that do not compress much more than real values would.
            table.Put("k" + i.ToString(CultureInfo.InvariantCulture), Version(Convert.ToBase64String(bytes), origin, i + 1), previous: null);
            if ((i + 1) % 1000 != 0 && i + 1 != n) continue;
            table.SetApplied(origin, i + 1);
            table.Commit();
        }
    }

    private static StoredVersion Version(string value, long origin, long seq) =>
        new(value, new WriteTag(1_700_000_000_000 + seq, 0), VersionVector.Empty.With(origin, seq), DependencySet.Empty);

    private static double LegacyReplaySeconds(string dir, int n)
    {
        Directory.CreateDirectory(dir);
        var origin = OriginId.Create(0, 1);
        using (var log = new WriteAheadLog(dir))
            for (var i = 0; i < n; i++) log.Write("k" + i.ToString(CultureInfo.InvariantCulture), Version(Cluster.Value100, origin, i + 1), origin, i + 1);
        // Replayed from the page cache, as right after a crash: the fastest start the log allowed.
        var clock = Stopwatch.StartNew();
        using (var log = new WriteAheadLog(dir))
        {
            var (versions, _, _) = log.Replay();
            if (versions.Count != n) throw new InvalidOperationException($"The log replayed {versions.Count} keys of {n}.");
        }
        var seconds = clock.Elapsed.TotalSeconds;
        Directory.Delete(dir, recursive: true);
        return seconds;
    }

    /// <summary>One node process on a data directory, outside any AppHost: what a restart after a crash looks like.</summary>
    private sealed class NodeProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Stopwatch _since = Stopwatch.StartNew();
        private readonly int _port;

        private NodeProcess(Process process, int port)
        {
            _process = process;
            _port = port;
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        }

        public HttpClient Http { get; }

        public int Pid => _process.Id;

        public static Task<NodeProcess> StartAsync(string dataDirectory, int port)
        {
            var dll = Path.Combine(BenchPaths.Repository, "src", "CausalKv.Node", "bin", "Release", "net10.0", "CausalKv.Node.dll");
            var start = new ProcessStartInfo("dotnet", [dll])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                    ["NODE_IDENTIFIER"] = "0",
                    ["CausalKv__DataDirectory"] = dataDirectory,
                    ["CausalKv__ClusterKey"] = "bench",
                },
            };
            var process = Process.Start(start) ?? throw new InvalidOperationException("The node did not start.");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return Task.FromResult(new NodeProcess(process, port));
        }

        /// <summary>Polls until the node answers a GET of k0 (any answer once it has no view yet); returns the time since its start.</summary>
        public async Task<TimeSpan> WaitServingAsync(TimeSpan within)
        {
            while (_since.Elapsed < within)
            {
                if (_process.HasExited) throw new InvalidOperationException($"The node exited with {_process.ExitCode}.");
                try
                {
                    using var response = await Http.GetAsync("/data/k0");
                    if (response.StatusCode == HttpStatusCode.OK) return _since.Elapsed;
                    if (response.StatusCode == HttpStatusCode.ServiceUnavailable && !await HasViewAsync()) return _since.Elapsed;
                }
                catch (HttpRequestException) { }
                await Task.Delay(10);
            }
            throw new TimeoutException("The node did not serve in time.");
        }

        private async Task<bool> HasViewAsync()
        {
            var status = await Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/admin/status");
            return status.GetProperty("shard").ValueKind == System.Text.Json.JsonValueKind.String;
        }

        public async Task InstallViewAsync()
        {
            var body = CausalKv.Tests.Distributed.Support.ViewInstaller.Body(new Dictionary<string, int[]> { ["shard0"] = [0] }, _ => $"127.0.0.1:{_port}", null);
            using var request = new HttpRequestMessage(HttpMethod.Put, "/view") { Content = JsonContent.Create(body) };
            request.Headers.Add(CausalKv.Node.Configuration.NodeIdentity.ClusterKeyHeader, "bench");
            using var response = await Http.SendAsync(request);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"PUT /view: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await WaitServingAsync(TimeSpan.FromMinutes(10));
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }
    }
}
