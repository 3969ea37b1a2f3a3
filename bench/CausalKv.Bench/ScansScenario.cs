using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace CausalKv.Bench;

/// <summary>
/// Memory of a node under concurrent full scans (issue 23): a node on RocksDB holding SCANS_VALUES values of
/// SCANS_VALUE_KIB KiB (default 150 of 1 MiB), read whole by 8 clients at once. This build pages (GET /data?limit=, then
/// ?cursor= until next-cursor is null); a baseline build (SCANS_BASELINE: the CausalKv.Node.dll of an earlier commit)
/// answers the un-paged form it had, the whole shard in one answer. Both nodes run side by side in one run, each
/// scanned alone; RSS is sampled every 20 ms from /proc.
/// </summary>
internal static class ScansScenario
{
    private const int Scanners = 8;

    public static async Task RunAsync(Report report)
    {
        var values = EnvInt("SCANS_VALUES", 150);
        var valueBytes = EnvInt("SCANS_VALUE_KIB", 1024) * 1024;
        var current = Path.Combine(BenchPaths.Repository, "src", "CausalKv.Node", "bin", "Release", "net10.0", "CausalKv.Node.dll");
        var builds = new List<(string Name, string Dll, bool Paged)>();
        if (Environment.GetEnvironmentVariable("SCANS_BASELINE") is { Length: > 0 } baseline) builds.Add(("baseline (un-paged GET /data)", baseline, false));
        builds.Add(("this build (paged GET /data)", current, true));
        report.Notes.Add($"{values} values of {valueBytes / 1024} KiB ({values * (long)valueBytes / 1048576.0:0} MiB), {Scanners} concurrent full scans.");

        var nodes = new List<StandaloneNode>();
        try
        {
            for (var i = 0; i < builds.Count; i++) nodes.Add(await StandaloneNode.StartAsync(builds[i].Dll, id: i));
            var value = new string('v', valueBytes);
            foreach (var node in nodes) await Cluster.LoadAsync(node.Http, Enumerable.Range(0, values).Select(i => $"scan{i:D5}"), concurrency: 4, value: value);
            for (var i = 0; i < builds.Count; i++)
            {
                var (name, _, paged) = builds[i];
                var node = nodes[i];
                await Task.Delay(2000);
                var loaded = Cluster.RssBytes(node.Pid);
                string unpaged;
                using (var response = await node.Http.GetAsync("/data", HttpCompletionOption.ResponseHeadersRead))
                {
                    unpaged = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await response.Content.CopyToAsync(Stream.Null);
                }
                await Task.Delay(2000);
                var cpuBefore = Machine.CpuTime(node.Pid);
                long peak = 0;
                using var sampling = new CancellationTokenSource();
                var sampler = Task.Run(async () =>
                {
                    while (!sampling.IsCancellationRequested)
                    {
                        peak = Math.Max(peak, Cluster.RssBytes(node.Pid));
                        try { await Task.Delay(20, sampling.Token); } catch (OperationCanceledException) { }
                    }
                });
                var sw = Stopwatch.StartNew();
                var scans = await Task.WhenAll(Enumerable.Range(0, Scanners).Select(_ => paged ? PagedScanAsync(node.Http) : UnpagedScanAsync(node.Http)));
                var wall = sw.Elapsed;
                var cpu = Machine.CpuTime(node.Pid) - cpuBefore;
                await sampling.CancelAsync();
                await sampler;
                await Task.Delay(3000);
                var after = Cluster.RssBytes(node.Pid);
                if (scans.Any(s => s.Keys != values)) throw new InvalidOperationException($"{name}: a scan read {string.Join(", ", scans.Select(s => s.Keys))} keys, not {values}.");
                report.Add(new()
                {
                    ["node"] = name,
                    ["RSS loaded (MiB)"] = loaded / 1048576.0,
                    ["peak RSS during the scans (MiB)"] = peak / 1048576.0,
                    ["RSS 3 s after (MiB)"] = after / 1048576.0,
                    ["peak over loaded (MiB)"] = (peak - loaded) / 1048576.0,
                    ["requests per scan"] = scans[0].Requests,
                    ["wall time of the 8 scans (s)"] = wall.TotalSeconds,
                    ["node CPU-s per scan"] = cpu.TotalSeconds / Scanners,
                    ["un-paged GET /data"] = unpaged,
                });
            }
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    private static async Task<(int Keys, int Requests)> UnpagedScanAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/data", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return (await CountItemsAsync(response), 1);
    }

    private static async Task<(int Keys, int Requests)> PagedScanAsync(HttpClient http)
    {
        var (keys, requests) = (0, 0);
        string? cursor = null;
        do
        {
            using var response = await http.GetAsync("/data?limit=1000" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            requests++;
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync());
            keys += doc.RootElement.GetProperty("items").EnumerateObject().Count();
            cursor = doc.RootElement.GetProperty("next-cursor").GetString();
        }
        while (cursor is not null);
        return (keys, requests);
    }

    /// <summary>Counts the items of an answer as it streams in, holding one value at a time (the bench shares the machine).</summary>
    private static async Task<int> CountItemsAsync(HttpResponseMessage response)
    {
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64 * 1024];
        var depth = 0;
        var (inString, escaped, count) = (false, false, 0);
        var (expectKey, itemsDone) = (false, false);
        int read;
        // A small state machine over the JSON text: keys at depth 2 of the first member ("items") are the items.
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var b = buffer[i];
                if (inString)
                {
                    if (escaped) escaped = false;
                    else if (b == '\\') escaped = true;
                    else if (b == '"') inString = false;
                    continue;
                }
                switch (b)
                {
                    case (byte)'"':
                        inString = true;
                        if (expectKey && depth == 2 && !itemsDone) count++;
                        expectKey = false;
                        break;
                    case (byte)'{': depth++; expectKey = true; break;
                    case (byte)'}':
                        if (--depth == 1) itemsDone = true;
                        break;
                    case (byte)',': expectKey = true; break;
                    case (byte)':': expectKey = false; break;
                }
            }
        }
        return count;
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    /// <summary>A node started from a DLL on a loopback port with its own data directory, given a one-node view.</summary>
    private sealed class StandaloneNode : IDisposable
    {
        private readonly Process _process;
        private readonly string _data;

        private StandaloneNode(Process process, string data, HttpClient http)
        {
            (_process, _data, Http) = (process, data, http);
        }

        public HttpClient Http { get; }

        public int Pid => _process.Id;

        public static async Task<StandaloneNode> StartAsync(string dll, int id)
        {
            if (!File.Exists(dll)) throw new FileNotFoundException($"No node build at {dll}.");
            var port = FreePort();
            var data = Directory.CreateTempSubdirectory("causalkv-scans-").FullName;
            var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(dll);
            info.ArgumentList.Add("--urls");
            info.ArgumentList.Add($"http://127.0.0.1:{port}");
            info.Environment["NODE_IDENTIFIER"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            info.Environment["CausalKv__DataDirectory"] = data;
            info.Environment["CausalKv__ClusterKey"] = "bench-scans";
            info.Environment["Logging__LogLevel__Default"] = "Warning";
            var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a node.");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(10) };
            var node = new StandaloneNode(process, data, http);
            try
            {
                var deadline = Stopwatch.StartNew();
                while (true)
                {
                    try
                    {
                        using var ping = await http.GetAsync("/ping");
                        if (ping.IsSuccessStatusCode) break;
                    }
                    catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(60)) { }
                    await Task.Delay(200);
                }
                using var view = new HttpRequestMessage(HttpMethod.Put, "/view")
                {
                    Content = new StringContent($"{{\"view\": {{\"shard0\": [{{\"address\": \"127.0.0.1:{port}\", \"id\": {id}}}]}}}}", Encoding.UTF8, "application/json"),
                };
                view.Headers.Add("X-CausalKv-Key", "bench-scans");
                using var installed = await http.SendAsync(view);
                if (installed.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"PUT /view: {(int)installed.StatusCode} {await installed.Content.ReadAsStringAsync()}");
                return node;
            }
            catch
            {
                node.Dispose();
                throw;
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            Http.Dispose();
            try { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); } catch (InvalidOperationException) { }
            _process.Dispose();
            try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
        }
    }
}
