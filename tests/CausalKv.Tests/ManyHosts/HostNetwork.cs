using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace CausalKv.Tests.ManyHosts;

/// <summary>
/// Hosts made of Linux network namespaces: each has its own address on a private bridge, and a hosts file that names
/// every other host (as a headless Service names pods). The bridge has an address in the test's own namespace, so
/// the test reaches the hosts, and no route off the machine: no default route in any host, no NAT, no uplink.
/// Everything is removed on dispose, also after a failure; what a killed run left behind is removed at the next
/// start (each run writes its owner's process id, and only runs whose owner is gone are cleaned).
/// Needs Linux and root (CI runs as root), <c>ip</c> (iproute2), <c>iptables</c> and <c>unshare</c>.
/// </summary>
public sealed class HostNetwork : IAsyncDisposable
{
    private const string Prefix = "ckvh";
    private static readonly string Registry = Path.Combine(Path.GetTempPath(), "causalkv-hosts");

    private readonly string _tag;
    private readonly Dictionary<string, Host> _hosts = new(StringComparer.Ordinal);
    private readonly List<HostProcess> _processes = [];

    private HostNetwork(string tag, byte subnet)
    {
        _tag = tag;
        Subnet = subnet;
    }

    /// <summary>The third byte of 10.213.x.0/24, the bridge's subnet.</summary>
    public byte Subnet { get; }

    public string Bridge => $"{Prefix}{_tag}";

    public IReadOnlyCollection<Host> Hosts => _hosts.Values;

    public Host this[string name] => _hosts[name];

    public sealed record Host(string Name, string Namespace, IPAddress Address, IReadOnlyList<string> Aliases);

    /// <summary>Why hosts cannot be made here, or null when they can.</summary>
    public static string? WhyUnavailable()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        if (Environment.UserName != "root") return "network namespaces need root";
        foreach (var tool in new[] { "ip", "iptables", "unshare", "bash" })
            if (Which(tool) is null) return $"{tool} is not installed";
        return null;
    }

    /// <param name="hosts">each host's name, then the other names it answers to (e.g. <c>kv-0</c>, <c>kv-0.kv-nodes</c>)</param>
    public static async Task<HostNetwork> CreateAsync(IEnumerable<(string Name, string[] Aliases)> hosts)
    {
        await RemoveLeftoversAsync();
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var subnet = await FreeSubnetAsync();
        var network = new HostNetwork(tag, subnet);
        Directory.CreateDirectory(Registry);
        await File.WriteAllTextAsync(Path.Combine(Registry, tag), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            await RunAsync($"link add {network.Bridge} type bridge");
            await RunAsync($"addr add 10.213.{subnet}.1/24 dev {network.Bridge}");
            await RunAsync($"link set {network.Bridge} up");
            var i = 0;
            foreach (var (name, aliases) in hosts) await network.AddHostAsync(name, aliases, ++i);
            await network.WriteHostsFilesAsync();
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    private async Task AddHostAsync(string name, string[] aliases, int index)
    {
        var ns = $"{Prefix}{_tag}-{index}";
        var address = IPAddress.Parse($"10.213.{Subnet}.{10 + index}");
        var (outer, inner) = ($"{Prefix}{_tag}o{index}", $"{Prefix}{_tag}i{index}");
        _hosts[name] = new Host(name, ns, address, aliases);
        await RunAsync($"netns add {ns}");
        await RunAsync($"link add {outer} type veth peer name {inner}");
        await RunAsync($"link set {inner} netns {ns}");
        await RunAsync($"link set {outer} master {Bridge} up");
        await RunAsync($"-n {ns} link set {inner} name eth0");
        await RunAsync($"-n {ns} addr add {address}/24 dev eth0");
        await RunAsync($"-n {ns} link set eth0 up");
        await RunAsync($"-n {ns} link set lo up");
    }

    private async Task WriteHostsFilesAsync()
    {
        var lines = new StringBuilder("127.0.0.1 localhost\n::1 localhost\n");
        foreach (var h in _hosts.Values) lines.Append(CultureInfo.InvariantCulture, $"{h.Address} {string.Join(' ', h.Aliases.Prepend(h.Name))}\n");
        foreach (var h in _hosts.Values)
        {
            var dir = Path.Combine("/etc/netns", h.Namespace);
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, "hosts"), lines.ToString());
        }
    }

    /// <summary>
    /// Starts <c>dotnet <paramref name="dll"/></c> on host <paramref name="host"/> as a pod's container would run:
    /// with exactly <paramref name="environment"/> (plus the few variables a container always has), its host name set
    /// to the host's, and <paramref name="volumes"/> (a directory of the test mounted at a path of the pod) in a
    /// mount namespace of its own.
    /// </summary>
    public HostProcess Start(string host, string dll, IReadOnlyDictionary<string, string> environment, IReadOnlyDictionary<string, string>? volumes = null)
    {
        var h = _hosts[host];
        // No descriptor of the test's own process reaches the service (a lock a build tool holds, a pipe of the test
        // runner): a service left behind by a killed run must not keep them open.
        var script = new StringBuilder("set -e; for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ \"$fd\" -gt 2 ] && eval \"exec $fd>&-\" || true; done; hostname \"$CKV_HOSTNAME\"; ");
        foreach (var (mountPath, source) in volumes ?? new Dictionary<string, string>())
            script.Append(CultureInfo.InvariantCulture, $"mkdir -p '{mountPath}'; mount --bind '{source}' '{mountPath}'; ");
        script.Append("unset CKV_HOSTNAME; exec \"$@\"");
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", h.Namespace, "unshare", "--uts", "--mount", "--propagation", "private", "bash", "-c", script.ToString(), "bash", Dotnet(), dll })
            start.ArgumentList.Add(a);
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        start.Environment["HOME"] = "/root";
        start.Environment["HOSTNAME"] = host;
        start.Environment["CKV_HOSTNAME"] = host;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root) start.Environment["DOTNET_ROOT"] = root;
        foreach (var (k, v) in environment) start.Environment[k] = v;
        var process = new HostProcess(host, Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll} on {host}"));
        lock (_processes) _processes.Add(process);
        return process;
    }

    /// <summary>Drops every packet between <paramref name="host"/> and every other host (iptables inside its namespace).</summary>
    public async Task CutOffAsync(string host)
    {
        var ns = _hosts[host].Namespace;
        // Inserted first, so below: everything from and to the other hosts is dropped ...
        await RunAsync($"netns exec {ns} iptables -w -I INPUT -i eth0 -s 10.213.{Subnet}.0/24 -j DROP");
        await RunAsync($"netns exec {ns} iptables -w -I OUTPUT -o eth0 -d 10.213.{Subnet}.0/24 -j DROP");
        // ... but the test itself (the bridge's address) still reaches the host, to see what it serves.
        await RunAsync($"netns exec {ns} iptables -w -I INPUT -i eth0 -s 10.213.{Subnet}.1 -j ACCEPT");
        await RunAsync($"netns exec {ns} iptables -w -I OUTPUT -o eth0 -d 10.213.{Subnet}.1 -j ACCEPT");
    }

    public Task HealAsync(string host) => RunAsync($"netns exec {_hosts[host].Namespace} iptables -w -F");

    /// <summary>Gives <paramref name="host"/> a new address (a pod rescheduled elsewhere) and rewrites every hosts file.</summary>
    public async Task MoveAsync(string host, int newIndex)
    {
        var h = _hosts[host];
        var address = IPAddress.Parse($"10.213.{Subnet}.{10 + newIndex}");
        await RunAsync($"-n {h.Namespace} addr del {h.Address}/24 dev eth0");
        await RunAsync($"-n {h.Namespace} addr add {address}/24 dev eth0");
        _hosts[host] = h with { Address = address };
        await WriteHostsFilesAsync();
    }

    public async ValueTask DisposeAsync()
    {
        HostProcess[] processes;
        lock (_processes) processes = [.. _processes];
        foreach (var p in processes) await p.DisposeAsync();
        await RemoveAsync(_tag);
    }

    private static async Task RemoveAsync(string tag)
    {
        var names = await OutputAsync("ip", "netns list");
        foreach (var line in names.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var ns = line.Split(' ')[0];
            if (!ns.StartsWith($"{Prefix}{tag}-", StringComparison.Ordinal)) continue;
            // Whatever still runs in it (a process a killed run left) goes first.
            foreach (var pid in (await OutputAsync("ip", $"netns pids {ns}")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                try { Process.GetProcessById(int.Parse(pid, CultureInfo.InvariantCulture)).Kill(entireProcessTree: true); } catch (ArgumentException) { }
            await TryRunAsync($"netns del {ns}");
            try { Directory.Delete(Path.Combine("/etc/netns", ns), recursive: true); } catch (DirectoryNotFoundException) { }
        }
        await TryRunAsync($"link del {Prefix}{tag}");
        try { File.Delete(Path.Combine(Registry, tag)); } catch (IOException) { }
    }

    private static async Task RemoveLeftoversAsync()
    {
        if (!Directory.Exists(Registry)) return;
        foreach (var file in Directory.GetFiles(Registry))
        {
            var owner = int.TryParse(await File.ReadAllTextAsync(file), out var pid) ? pid : -1;
            bool alive;
            try { using var p = Process.GetProcessById(owner); alive = !p.HasExited; } catch (ArgumentException) { alive = false; }
            if (!alive) await RemoveAsync(Path.GetFileName(file));
        }
    }

    private static async Task<byte> FreeSubnetAsync()
    {
        var used = await OutputAsync("ip", "-4 addr");
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var x = (byte)RandomNumberGenerator.GetInt32(1, 255);
            if (!used.Contains($"10.213.{x}.", StringComparison.Ordinal)) return x;
        }
        throw new InvalidOperationException("no free 10.213.x.0/24 subnet");
    }

    private static async Task RunAsync(string arguments)
    {
        var (code, output) = await ExecAsync("ip", arguments);
        if (code != 0) throw new InvalidOperationException($"ip {arguments} failed ({code}): {output}");
    }

    private static async Task TryRunAsync(string arguments) => await ExecAsync("ip", arguments);

    private static async Task<string> OutputAsync(string file, string arguments) => (await ExecAsync(file, arguments)).Output;

    private static async Task<(int Code, string Output)> ExecAsync(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await output + await error);
    }

    private static string Dotnet() =>
        Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : Which("dotnet") ?? "dotnet";

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/sbin")
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);
}

/// <summary>A process running on a host of <see cref="HostNetwork"/>; its output is kept to explain a failure.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public HostProcess(string host, Process process)
    {
        Host = host;
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Host { get; }

    private bool _disposed;

    public bool HasExited => _disposed || _process.HasExited;

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>SIGKILL to the whole tree (ip, unshare and the service), as a host that fails.</summary>
    public async Task KillAsync()
    {
        if (HasExited) return;
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (_disposed) return;
        _disposed = true;
        _process.Dispose();
    }
}
