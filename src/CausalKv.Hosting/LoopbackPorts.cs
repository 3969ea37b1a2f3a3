using System.Net;
using System.Net.Sockets;

namespace CausalKv.Hosting;

/// <summary>
/// Ports picked when the model is built, for endpoints that DCP does not proxy (nodes, the router). The process binds
/// its port only later, and a restarted node binds it again. A port from the kernel's ephemeral range (what binding
/// port 0 gives) can be taken meanwhile by any outgoing connection on the machine, and the node then fails to start;
/// so ports come from below that range, where only listeners that ask for a port by number go, and none is handed out
/// twice by this process.
/// </summary>
internal static class LoopbackPorts
{
    private const int Lowest = 10000;
    private static readonly HashSet<(IPAddress, int)> Given = [];

    public static int Free(IPAddress host)
    {
        var highest = EphemeralStart() - 1;
        if (highest - Lowest >= 1000)
        {
            lock (Given)
            {
                for (var attempt = 0; attempt < 200; attempt++)
                {
                    var port = Random.Shared.Next(Lowest, highest + 1);
                    if (Given.Contains((host, port)) || !Bindable(host, port)) continue;
                    Given.Add((host, port));
                    return port;
                }
            }
        }
        using var listener = new TcpListener(host, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first port of the kernel's ephemeral range (Linux); 32768 where it cannot be read.</summary>
    private static int EphemeralStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (range.Length > 0 && int.TryParse(range[0], out var start)) return start;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 32768;
    }

    private static bool Bindable(IPAddress host, int port)
    {
        try
        {
            using var socket = new Socket(host.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(host, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
