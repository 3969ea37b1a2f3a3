using System.Diagnostics;
using System.Globalization;

namespace CausalKv.Bench;

/// <summary>
/// A dotnet-trace session on one node for the length of one load run (CLIENT_TRACE=&lt;folder&gt;): CPU stacks sampled
/// by the runtime's sample profiler, and the GC's events with an allocation sample every ~100 KB, so that a run's cost
/// can be split by the stage of the code that spent it (bench/CausalKv.TraceStages). dotnet-trace is a .NET tool
/// (<c>dotnet tool install -g dotnet-trace</c>), found on PATH or in ~/.dotnet/tools, or named by CLIENT_TRACE_TOOL.
/// </summary>
internal sealed class NodeTrace : IAsyncDisposable
{
    /// <summary>The sample profiler (all managed threads, 1 ms) and the runtime's GC keyword at verbose (AllocationTick, GC pauses).</summary>
    private const string Providers = "Microsoft-DotNETCore-SampleProfiler,Microsoft-Windows-DotNETRuntime:0x1:5";

    private readonly Process _process;

    private NodeTrace(Process process, string path)
    {
        _process = process;
        Path = path;
    }

    /// <summary>The folder traces go to (CLIENT_TRACE), or null when runs are not traced.</summary>
    public static string? Folder { get; } = Environment.GetEnvironmentVariable("CLIENT_TRACE") is { Length: > 0 } f ? System.IO.Path.GetFullPath(f) : null;

    public string Path { get; }

    /// <summary>Starts tracing <paramref name="pid"/> for <paramref name="duration"/> (plus 2 s of slack) and waits until the session is on.</summary>
    public static async Task<NodeTrace> StartAsync(int pid, string name, TimeSpan duration)
    {
        Directory.CreateDirectory(Folder!);
        var path = System.IO.Path.Combine(Folder!, name + ".nettrace");
        File.Delete(path);
        var seconds = (int)Math.Ceiling(duration.TotalSeconds) + 2;
        var info = new ProcessStartInfo(Tool())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in new[] { "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--providers", Providers, "-o", path,
                     "--duration", TimeSpan.FromSeconds(seconds).ToString(@"dd\:hh\:mm\:ss", CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet-trace did not start.");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        // The session is on once the runtime writes the trace's header.
        var wait = Stopwatch.StartNew();
        while (!(File.Exists(path) && new FileInfo(path).Length > 0) && !process.HasExited && wait.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(50);
        if (process.HasExited) throw new InvalidOperationException($"dotnet-trace exited with {process.ExitCode} before tracing node {pid}.");
        return new NodeTrace(process, path);
    }

    /// <summary>Waits for the trace to end (its duration, then the rundown that names the methods).</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try { await _process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { _process.Kill(); }
        _process.Dispose();
    }

    private static string Tool()
    {
        if (Environment.GetEnvironmentVariable("CLIENT_TRACE_TOOL") is { Length: > 0 } named) return named;
        var home = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-trace");
        return File.Exists(home) ? home : "dotnet-trace";
    }
}
