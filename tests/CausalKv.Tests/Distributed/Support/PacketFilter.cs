using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace CausalKv.Tests.Distributed.Support;

/// <summary>
/// Cuts links between nodes for real: each node runs as its own Unix user, and iptables' owner match drops, on
/// <c>lo</c>, the TCP packets one node's user sends to another node's address. Nothing is refused: a connection
/// attempt hangs as it does across a real partition, which is what the nodes' connect and request timeouts are for.
/// Invariant: every rule this filter adds carries its own comment tag, and disposing it removes every such rule, so
/// an app leaves the machine's packet filter as it found it. Linux, root and iptables are needed.
/// </summary>
internal sealed class PacketFilter : IAsyncDisposable
{
    private readonly string _tag = "causalkv-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private readonly HashSet<(int Uid, IPAddress To)> _dropped = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Why real partitions cannot be made here, or null when they can.</summary>
    public static string? WhyUnavailable()
    {
        if (!OperatingSystem.IsLinux()) return "real partitions need Linux (iptables on lo)";
        if (GetUid() != 0) return "real partitions need root (iptables rules and one Unix user per node)";
        if (!File.Exists("/usr/bin/setpriv")) return "real partitions need setpriv (util-linux) to run each node as its own user";
        if (Which("iptables") is null) return "real partitions need iptables (apt-get install -y iptables)";
        return null;
    }

    /// <summary>Drops what <paramref name="uid"/> sends to <paramref name="to"/>; idempotent.</summary>
    public async Task DropAsync(int uid, IPAddress to, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (!_dropped.Add((uid, to))) return;
            await RunAsync(Rule("-I", uid, to), ct);
        }
        finally { _gate.Release(); }
    }

    /// <summary>Lets <paramref name="uid"/> reach <paramref name="to"/> again; idempotent.</summary>
    public async Task AllowAsync(int uid, IPAddress to, CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (!_dropped.Remove((uid, to))) return;
            await RunAsync(Rule("-D", uid, to), ct);
        }
        finally { _gate.Release(); }
    }

    public async Task AllowAllAsync(CancellationToken ct = default)
    {
        (int, IPAddress)[] all;
        await _gate.WaitAsync(ct);
        try { all = [.. _dropped]; }
        finally { _gate.Release(); }
        foreach (var (uid, to) in all) await AllowAsync(uid, to, ct);
    }

    /// <summary>Packets the filter's rules have dropped so far (iptables' counters): proof that a cut was real.</summary>
    public async Task<long> DroppedPacketsAsync(CancellationToken ct = default)
    {
        var listing = await RunAsync(["-w", "-L", "OUTPUT", "-v", "-x", "-n"], ct);
        long packets = 0;
        foreach (var line in listing.Split('\n'))
        {
            if (!line.Contains(_tag, StringComparison.Ordinal)) continue;
            var first = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) packets += n;
        }
        return packets;
    }

    private string[] Rule(string action, int uid, IPAddress to) =>
    [
        "-w", action, "OUTPUT", "-o", "lo", "-p", "tcp", "-d", to + "/32",
        "-m", "owner", "--uid-owner", uid.ToString(CultureInfo.InvariantCulture),
        "-m", "comment", "--comment", _tag, "-j", "DROP",
    ];

    private static async Task<string> RunAsync(string[] args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(Which("iptables") ?? "iptables") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("iptables did not start.");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"iptables {string.Join(' ', args)} failed ({process.ExitCode}): {(await error).Trim()}");
        return await output;
    }

    private static string? Which(string command) =>
        new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Select(d => Path.Combine(d, command)).FirstOrDefault(File.Exists);

    private static int GetUid()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    return int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        try { await AllowAllAsync(); }
        catch (InvalidOperationException) { } // the machine's filter changed under us; nothing more to undo
        _gate.Dispose();
    }
}
