using System.Net;
using System.Net.Sockets;

namespace CausalKv.Hosting;

/// <summary>Ports picked when the model is built, for endpoints that DCP does not proxy (nodes, the router).</summary>
internal static class LoopbackPorts
{
    public static int Free(IPAddress host)
    {
        using var listener = new TcpListener(host, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
