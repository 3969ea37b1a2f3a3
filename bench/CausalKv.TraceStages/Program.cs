using System.Globalization;
using System.Text.Json;
using CausalKv.TraceStages;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

// dotnet run --project bench/CausalKv.TraceStages -c Release -- <trace.nettrace> [--frames N] [--leaves N] [--callers FRAME]
// dotnet run --project bench/CausalKv.TraceStages -c Release -- metadata <NAME.metadata.jsonl>...   (see MetadataComposition)
// Splits one node's trace (bench/CausalKv.Bench with CLIENT_TRACE) by stage: the sampled stacks that were on a CPU and
// the allocation samples, each charged to the innermost frame that names a stage (Stages.cs). Beside the trace,
// NAME.run.json (written by the bench) gives the requests of the run and node0's CPU from /proc, so the shares become
// µs per request (of the cluster's CPU per request from /proc) and bytes per request (node0's allocations times the 4
// nodes, which share the load evenly).
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: CausalKv.TraceStages <trace.nettrace> [--frames N] [--leaves N] [--callers FRAME] | metadata <NAME.metadata.jsonl>...");
    return 2;
}
if (args[0] == "metadata")
{
    foreach (var file in args.Skip(1)) MetadataComposition.Print(file);
    return 0;
}
var path = args[0];
var frames = Option("--frames", 0);
var callersOf = Array.IndexOf(args, "--callers") is var c and >= 0 && c + 1 < args.Length ? args[c + 1] : null;
var callers = new Dictionary<string, long>();
var allocatingCallers = new Dictionary<string, double>();
var leaves = Option("--leaves", 0);
int Option(string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;

var run = RunInfo.Read(Path.ChangeExtension(path, null) + ".run.json");
var etlx = Path.ChangeExtension(path, ".etlx");
if (File.Exists(etlx)) File.Delete(etlx);
TraceLog.CreateFromEventPipeDataFile(path, etlx, new TraceLogOptions { ConversionLog = TextWriter.Null });
using var log = new TraceLog(etlx);
// Only the load itself: the trace runs 2 s past it to take the rundown that names the methods.
var windowMs = run is null ? double.MaxValue : run.Seconds * 1000 + 250;
var cpu = new Dictionary<string, long>();
var waiting = 0L;
var gcWaits = 0L;
var lockWaits = new Dictionary<string, long>();
var allocatedBy = new Dictionary<string, double>();
var allocated = new Dictionary<string, double>();
var allocatedTypes = new Dictionary<string, double>();
var frameCounts = new Dictionary<string, long>();
var leafCounts = new Dictionary<string, long>();
var pauses = new List<(double AtMs, double Ms, int Generation)>();
var profilerStalls = new List<(double AtMs, double Ms)>();
var gaps = new List<(double AtMs, double Ms)>();
double? lastTick = null;
double? suspendAt = null;
var generation = -1;
foreach (var ev in log.Events)
{
    if (ev.TimeStampRelativeMSec > windowMs) break;
    switch (ev.EventName)
    {
        case "Thread/Sample":
        {
            // The profiler samples every thread at each tick: a long gap between ticks is a time the process did not run.
            if (lastTick is { } last && ev.TimeStampRelativeMSec - last > 50) gaps.Add((last, ev.TimeStampRelativeMSec - last));
            lastTick = ev.TimeStampRelativeMSec;
            var stack = Stages.Frames(ev.CallStack());
            switch (Stages.Wait(stack))
            {
                case Stages.Waiting.Idle: waiting++; continue;
                case Stages.Waiting.Lock: Add(lockWaits, Stages.Short(stack.Skip(1).FirstOrDefault() ?? "?") + " in " + (stack.FirstOrDefault(f => f.StartsWith("CausalKv.", StringComparison.Ordinal)) ?? "(no node frame)"), 1); continue;
                case Stages.Waiting.Gc: gcWaits++; continue;
            }
            Add(cpu, Stages.Of(stack), 1);
            if (callersOf is not null && stack.FindIndex(f => f.Contains(callersOf, StringComparison.Ordinal)) is var at and >= 0)
                Add(callers, string.Join(" <- ", stack.Skip(at).Take(4).Select(Stages.Short)), 1);
            if (stack.Count > 0) Add(leafCounts, stack[0], 1);
            foreach (var f in stack.Distinct()) Add(frameCounts, f, 1);
            break;
        }
        case "GC/AllocationTick":
        {
            var bytes = Convert.ToDouble(ev.PayloadByName("AllocationAmount64") ?? ev.PayloadByName("AllocationAmount"), CultureInfo.InvariantCulture);
            var allocating = Stages.Frames(ev.CallStack());
            Add(allocated, Stages.Of(allocating), bytes);
            Add(allocatedBy, allocating.FirstOrDefault(f => f.StartsWith("CausalKv.", StringComparison.Ordinal)) ?? "(no node frame)", bytes);
            Add(allocatedTypes, ev.PayloadByName("TypeName") as string ?? "?", bytes);
            if (callersOf is not null && allocating.FindIndex(f => f.Contains(callersOf, StringComparison.Ordinal)) is var from and >= 0)
                Add(allocatingCallers, string.Join(" <- ", allocating.Skip(from).Take(3).Select(Stages.Short)), bytes);
            break;
        }
        case "GC/Start":
            generation = Convert.ToInt32(ev.PayloadByName("Depth"), CultureInfo.InvariantCulture);
            break;
        case "GC/SuspendEEStart":
            suspendAt = ev.TimeStampRelativeMSec;
            break;
        case "GC/RestartEEStop" when suspendAt is { } at:
            // The sample profiler suspends the runtime too, for every sample: only the suspensions a GC ran in count.
            if (generation >= 0) pauses.Add((at, ev.TimeStampRelativeMSec - at, generation));
            else if (ev.TimeStampRelativeMSec - at > 10) profilerStalls.Add((at, ev.TimeStampRelativeMSec - at));
            suspendAt = null;
            generation = -1;
            break;
    }
}

var onCpu = cpu.Values.Sum();
var totalBytes = allocated.Values.Sum();
var blocked = lockWaits.Values.Sum();
Console.WriteLine($"{Path.GetFileName(path)}: {onCpu} thread samples running, {blocked} blocked on a lock, {gcWaits} stopped for a GC, {waiting} idle; {totalBytes / 1e6:0.0} MB allocated (sampled){(run is null ? "" : $"; {run.Requests} requests in {run.Seconds} s, node0 {run.Node0CpuMicros / 1e6:0.00} CPU-s")}");
// Per request of the cluster: node0 takes a quarter of the load (its shard's half, either replica at random) and the
// other three nodes the rest alike.
double PerRequest(double x) => run is null || run.Requests == 0 ? double.NaN : x * 4 / run.Requests;
// The CPU split is the cluster's per request from /proc (node0's own is inflated by the sampling). The sample profiler
// samples threads, running or not: a thread inside a syscall counts whether the kernel runs it or not, so the socket
// row takes the kernel time /proc measured, and the user time is split by the samples of the other rows.
var cpuPerRequest = run?.ClusterCpuMicrosPerRequest ?? double.NaN;
var kernelPerRequest = run?.ClusterSystemCpuMicrosPerRequest;
var userSamples = onCpu - cpu.GetValueOrDefault(Stages.Sockets);
Console.WriteLine($"| stage | share of running samples | CPU µs/request{(kernelPerRequest is null ? "" : " (kernel time on the socket row)")} | allocated bytes/request | allocation share |");
Console.WriteLine("|---|---|---|---|---|");
foreach (var stage in Stages.Names.Where(s => cpu.ContainsKey(s) || allocated.ContainsKey(s)))
{
    var share = (double)cpu.GetValueOrDefault(stage) / Math.Max(1, onCpu);
    var micros = kernelPerRequest is not { } kernel ? share * cpuPerRequest
        : stage == Stages.Sockets ? kernel
        : (double)cpu.GetValueOrDefault(stage) / Math.Max(1, userSamples) * (cpuPerRequest - kernel);
    var bytes = allocated.GetValueOrDefault(stage);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {stage} | {share:P1} | {micros:0.0} | {PerRequest(bytes):0} | {bytes / Math.Max(1, totalBytes):P1} |"));
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| all | 100% | {cpuPerRequest:0.0} | {PerRequest(totalBytes):0} | 100% |"));

var sorted = pauses.Select(p => p.Ms).Order().ToArray();
if (sorted.Length > 0)
{
    var seconds = Math.Min(windowMs, log.SessionDuration.TotalMilliseconds) / 1000;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"GC pauses: {sorted.Length} ({sorted.Length / seconds:0.0}/s; gen0 {pauses.Count(p => p.Generation == 0)}, gen1 {pauses.Count(p => p.Generation == 1)}, gen2 {pauses.Count(p => p.Generation == 2)}), " +
        $"median {sorted[sorted.Length / 2]:0.00} ms, p99 {sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))]:0.00} ms, longest {sorted[^1]:0.00} ms, " +
        $"{sorted.Sum() / (seconds * 10):0.00}% of the time paused"));
    foreach (var p in pauses.OrderByDescending(p => p.Ms).Take(5))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  pause {p.Ms:0.00} ms at {p.AtMs / 1000:0.000} s, gen{p.Generation}"));
}
if (profilerStalls.Count > 0)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Suspensions without a GC (the sampling's own) over 10 ms: {profilerStalls.Count}, longest {profilerStalls.Max(p => p.Ms):0.0} ms"));
if (gaps.Count > 0)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Gaps over 50 ms between the profiler's samples (nothing of the node ran, or the runtime was suspended): {gaps.Count}, over 100 ms {gaps.Count(g => g.Ms > 100)}, longest {gaps.Max(g => g.Ms):0} ms at {gaps.MaxBy(g => g.Ms).AtMs / 1000:0.000} s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Blocked on a lock ({(double)blocked / Math.Max(1, blocked + onCpu):P1} of the non-idle samples), by innermost node frame:"));
foreach (var (f, n) in lockWaits.OrderByDescending(f => f.Value).Take(6))
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(double)n / Math.Max(1, blocked),7:P1}  {f}"));
Console.WriteLine("Allocated by innermost node frame (sampled):");
foreach (var (f, b) in allocatedBy.OrderByDescending(f => f.Value).Take(12))
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {b / Math.Max(1, totalBytes),7:P1}  {PerRequest(b),7:0} B/request  {f}"));
Console.WriteLine("Allocated types (sampled): " + string.Join(", ", allocatedTypes.OrderByDescending(t => t.Value).Take(12)
    .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Value / Math.Max(1, totalBytes):P1}"))));
if (callersOf is not null)
{
    Console.WriteLine($"Running samples through {callersOf}, by its callers:");
    foreach (var (f, n) in callers.OrderByDescending(f => f.Value).Take(10))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(double)n / Math.Max(1, onCpu),7:P1}  {f}"));
    Console.WriteLine($"Allocation samples through {callersOf}, by its callers:");
    foreach (var (f, b) in allocatingCallers.OrderByDescending(f => f.Value).Take(10))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {PerRequest(b),7:0} B/request  {f}"));
}
if (frames > 0)
{
    Console.WriteLine($"Frames by inclusive CPU samples (top {frames}):");
    foreach (var (f, n) in frameCounts.OrderByDescending(f => f.Value).Take(frames))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(double)n / Math.Max(1, onCpu),7:P1}  {f}"));
}
if (leaves > 0)
{
    Console.WriteLine($"Leaf frames of CPU samples (top {leaves}):");
    foreach (var (f, n) in leafCounts.OrderByDescending(f => f.Value).Take(leaves))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(double)n / Math.Max(1, onCpu),7:P1}  {f}"));
}
return 0;

static void Add<T>(Dictionary<string, T> counts, string key, T by) where T : System.Numerics.INumber<T> =>
    counts[key] = counts.GetValueOrDefault(key, T.Zero) + by;

namespace CausalKv.TraceStages
{
    /// <summary>What the bench wrote beside a trace: the run's requests and node0's CPU from /proc.</summary>
    internal sealed record RunInfo(long Requests, double Seconds, double Node0CpuMicros, double ClusterCpuMicrosPerRequest, double? ClusterSystemCpuMicrosPerRequest)
    {
        public static RunInfo? Read(string path)
        {
            if (!File.Exists(path)) return null;
            var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
            return new RunInfo(root.GetProperty("requests").GetInt64(), root.GetProperty("seconds").GetDouble(), root.GetProperty("node0CpuMicros").GetDouble(),
                root.GetProperty("clusterCpuMicrosPerRequest").GetDouble(),
                root.TryGetProperty("clusterSystemCpuMicrosPerRequest", out var system) ? system.GetDouble() : null);
        }
    }
}
