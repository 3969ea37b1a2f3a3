using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// Nodes and routers started as plain processes from their build output, with nothing but environment variables (no
/// AppHost, no <c>PUT /view</c>), as an operator starts them by hand or in containers. Disposing kills them all.
/// </summary>
public sealed class LocalCluster(string clusterKey) : IAsyncDisposable
{
    private readonly List<LocalProcess> _processes = [];

    public string ClusterKey { get; } = clusterKey;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public LocalProcess StartNode(int id, int port, params (string Name, string Value)[] settings) =>
        Start($"node{id}", "CausalKv.Node", port, [("NODE_IDENTIFIER", $"{id}"), .. settings]);

    public LocalProcess StartRouter(string name, int port, params (string Name, string Value)[] settings) =>
        Start(name, "CausalKv.Router", port, settings);

    private LocalProcess Start(string name, string project, int port, (string Name, string Value)[] settings)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(BuildOutput(project));
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["CausalKv__ClusterKey"] = ClusterKey;
        foreach (var (n, v) in settings) info.Environment[n] = v;
        var process = new LocalProcess(name, port, info);
        _processes.Add(process);
        return process;
    }

    /// <summary>The project's own build output, in the configuration the tests were built in.</summary>
    private static string BuildOutput(string project)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CausalKv.sln"))) dir = dir.Parent;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
        return Path.Combine(dir!.FullName, "src", project, "bin", configuration, "net10.0", project + ".dll");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes) await p.DisposeAsync();
    }
}

/// <summary>One process of a <see cref="LocalCluster"/>: its last console lines kept for failure messages.</summary>
public sealed class LocalProcess : IAsyncDisposable
{
    private readonly Queue<string> _tail = new();
    private readonly ProcessStartInfo _info;
    private Process _process;

    internal LocalProcess(string name, int port, ProcessStartInfo info)
    {
        Name = name;
        Port = port;
        _info = info;
        _process = Launch();
    }

    public string Name { get; }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    public Uri Url => new($"http://{Address}");

    public string Tail { get { lock (_tail) return string.Join(Environment.NewLine, _tail); } }

    private Process Launch()
    {
        var process = Process.Start(_info)!;
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is null) return;
            lock (_tail)
            {
                _tail.Enqueue(e.Data);
                if (_tail.Count > 40) _tail.Dequeue();
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>SIGKILL, as a crash.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts the same process again (same port, same settings).</summary>
    public void Restart()
    {
        _process.Dispose();
        _process = Launch();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
