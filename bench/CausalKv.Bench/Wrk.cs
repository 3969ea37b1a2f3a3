using System.Globalization;
using System.Text.RegularExpressions;

namespace CausalKv.Bench;

/// <summary>One wrk run: throughput, latency percentiles and the errors it counted.</summary>
internal sealed record WrkResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Non2xx, long SocketErrors);

/// <summary>
/// The load generator: <c>wrk</c> from Debian's packages, driven by the Lua
/// scripts of shared/bench/wrk. It is C with an event loop per thread, so on two
/// shared cores it costs the servers far less than an in-process .NET client.
/// </summary>
internal static partial class Wrk
{
    /// <summary>Makes sure wrk is installed (apt-get as root); returns the Debian package version.</summary>
    public static async Task<string> EnsureInstalledAsync()
    {
        if (!Machine.OnPath("wrk"))
        {
            if (!Machine.IsRoot)
                throw new InvalidOperationException("wrk is not installed: run `sudo apt-get install -y wrk` (Debian package wrk), then retry.");
            Console.WriteLine("wrk is missing: apt-get install -y wrk");
            var install = await Machine.RunAsync("apt-get", ["install", "-y", "wrk"], new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
            if (install.ExitCode != 0)
            {
                await Machine.RunAsync("apt-get", ["update"]);
                install = await Machine.RunAsync("apt-get", ["install", "-y", "wrk"], new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
            }
            if (install.ExitCode != 0) throw new InvalidOperationException("apt-get install -y wrk failed:\n" + install.Output);
        }
        try
        {
            var version = await Machine.RunAsync("dpkg-query", ["-W", "-f=${Version}", "wrk"]);
            return version.ExitCode == 0 ? version.Output.Trim() : "not from a Debian package";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "version unknown";
        }
    }

    /// <summary>Runs a script against a base URL: one thread at one connection, two otherwise (one per core).</summary>
    /// <param name="headers">extra request headers (<c>Name: value</c>), sent with every request</param>
    public static async Task<WrkResult> RunAsync(string scriptsDir, string script, Uri target, int connections, TimeSpan duration, int keys,
        IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? headers = null)
    {
        var threads = connections == 1 ? 1 : 2;
        string[] args =
        [
            $"-t{threads}", $"-c{connections}", $"-d{Math.Max(1, (int)duration.TotalSeconds)}s", "--timeout", "5s", "--latency",
            .. (headers ?? []).SelectMany(h => new[] { "-H", h }),
            "-s", Path.Combine(scriptsDir, script), target.ToString().TrimEnd('/'),
        ];
        var env = new Dictionary<string, string> { ["KEYS"] = keys.ToString(CultureInfo.InvariantCulture) };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) env[name] = value;
        var (exit, output) = await Machine.RunAsync("wrk", args, env, scriptsDir);
        if (exit != 0) throw new InvalidOperationException($"wrk {string.Join(' ', args)} exited with {exit}:\n{output}");
        return Parse(output);
    }

    public static WrkResult Parse(string output)
    {
        var rps = RequestsPerSecond().Match(output);
        if (!rps.Success) throw new FormatException("No Requests/sec in wrk's output:\n" + output);
        var requests = RequestCount().Match(output);
        var non2xx = Non2xx().Match(output);
        var socket = SocketErrors().Match(output);
        return new WrkResult(
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            Percentile(output, "50"),
            Percentile(output, "99"),
            requests.Success ? long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            socket.Success ? Enumerable.Range(1, 4).Sum(i => long.Parse(socket.Groups[i].Value, CultureInfo.InvariantCulture)) : 0);
    }

    /// <summary>A line of the "Latency Distribution" block, e.g. "     99%    5.34ms", in milliseconds.</summary>
    private static double Percentile(string output, string percent)
    {
        var m = Regex.Match(output, $@"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline);
        if (!m.Success) throw new FormatException($"No {percent}% line in wrk's output (was --latency given?):\n{output}");
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch
        {
            "us" => value / 1000,
            "ms" => value,
            "s" => value * 1000,
            _ => value * 60_000,
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestCount();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
