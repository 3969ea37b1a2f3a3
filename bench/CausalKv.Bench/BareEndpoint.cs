using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CausalKv.Bench;

/// <summary>
/// The reference: shared/bench/bare-endpoint (the same routes and bodies as the
/// data API over a dictionary), copied to a temporary folder, built in Release
/// and run on a free loopback port (killed when the bench exits). Disposing it stops the process and deletes the copy.
/// </summary>
internal sealed class BareEndpoint : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _copy;

    private BareEndpoint(Process process, string copy, Uri endpoint)
    {
        _process = process;
        _copy = copy;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    /// <summary>The endpoint's process, for CPU accounting.</summary>
    public int Pid => _process.Id;

    public static async Task<BareEndpoint> StartAsync(CancellationToken ct = default)
    {
        var copy = BenchPaths.CopyToTemp(Path.Combine(BenchPaths.SharedBench, "bare-endpoint"), "causalkv-bare-");
        var output = Path.Combine(Path.GetDirectoryName(copy)!, "out");
        var build = await Machine.RunAsync("dotnet", ["build", copy, "-c", "Release", "-o", output, "-nologo", "-v", "q"], ct: ct);
        if (build.ExitCode != 0)
        {
            BenchPaths.DeleteTemp(copy);
            throw new InvalidOperationException("Building the bare endpoint failed:\n" + build.Output);
        }
        var port = FreePort();
        var endpoint = new Uri($"http://127.0.0.1:{port}");
        var info = new ProcessStartInfo("dotnet", [Path.Combine(output, "BareEndpoint.dll"), "--urls", endpoint.ToString().TrimEnd('/')])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = output,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("The bare endpoint did not start.");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { process.Kill(); } catch (InvalidOperationException) { } };
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var bare = new BareEndpoint(process, copy, endpoint);
        try
        {
            await bare.WaitReadyAsync(ct);
            return bare;
        }
        catch
        {
            await bare.DisposeAsync();
            throw;
        }
    }

    private async Task WaitReadyAsync(CancellationToken ct)
    {
        using var client = new HttpClient { BaseAddress = Endpoint, Timeout = TimeSpan.FromSeconds(2) };
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"The bare endpoint exited with {_process.ExitCode}.");
            try
            {
                using var response = await client.GetAsync("/ping", ct);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException("The bare endpoint did not answer /ping within 60 s.");
            await Task.Delay(100, ct);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        BenchPaths.DeleteTemp(_copy);
    }
}
