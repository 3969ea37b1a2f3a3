using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using CausalKv.Hosting;

namespace CausalKv.AppHost.Testing;

/// <summary>
/// Nodes that can be cut from each other for real (<c>--CausalKv:AppHost:RealPartitions=true</c>): every node runs as
/// its own Unix user (through <c>setpriv</c>) on its own loopback address, so a packet filter can drop, on <c>lo</c>, what
/// one node's user sends to another's address (the tests' <c>PacketFilter</c> does). Needs Linux, root and setpriv.
/// </summary>
public sealed class RealPartitionNodes : ICausalKvNodeLauncher
{
    private const int FirstUid = 64000;

    // Clusters built side by side (tests) get loopback addresses of their own.
    private static int s_nextHost = 10;

    private readonly int _firstHost;
    private readonly Lock _gate = new();
    private bool _binariesCopied;

    /// <param name="nodes">Every node the cluster declares, spares included.</param>
    public RealPartitionNodes(int nodes) => _firstHost = NextHosts(nodes);

    public string HostOf(int id) => $"127.0.0.{_firstHost + id}";

    /// <summary>The Unix user the node listening on <paramref name="host"/> runs as (a packet filter matches on it).</summary>
    public static int UidOf(string host) => FirstUid + int.Parse(host.AsSpan(host.LastIndexOf('.') + 1), CultureInfo.InvariantCulture);

    public IResourceBuilder<ExecutableResource> Declare(IDistributedApplicationBuilder app, CausalKvClusterResource cluster, string name, int id)
    {
        var uid = UidOf(HostOf(id));
        // A node running as another user may not be able to read the build output (a checkout under /root, or in a
        // 0700 temporary folder), so it runs a copy kept under the data root, which every node may read.
        var binaries = Path.Combine(cluster.Control.DataRoot, "node-binaries");
        var dll = Path.Combine(binaries, Path.GetFileName(NodeBuildOutput.AssemblyPath));
        var user = uid.ToString(CultureInfo.InvariantCulture);
        // setpriv changes the ids and then execs dotnet, so the node keeps the process id DCP sees.
        return app.AddExecutable(name, "/usr/bin/setpriv", binaries, "--reuid=" + user, "--regid=" + user, "--clear-groups", "--", "dotnet", dll)
            .WithEnvironment(context =>
            {
                var data = cluster.Control.DataDirectoryOf(name);
                UnixUsers.PrepareDataDirectory(cluster.Control.DataRoot, data, uid);
                CopyBinaries(Path.GetDirectoryName(NodeBuildOutput.AssemblyPath)!, binaries);
                context.EnvironmentVariables["HOME"] = data;
            });
    }

    /// <summary>Copies the node's build output once per run (files 644, folders 755).</summary>
    private void CopyBinaries(string source, string target)
    {
        lock (_gate)
        {
            if (_binariesCopied) return;
            foreach (var from in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                var to = Path.Combine(target, Path.GetRelativePath(source, from));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(from, to, overwrite: true);
            }
            _binariesCopied = true;
        }
    }

    private static int NextHosts(int count)
    {
        while (true)
        {
            var start = Volatile.Read(ref s_nextHost);
            var first = start + count + 1 > 240 ? 10 : start;
            if (Interlocked.CompareExchange(ref s_nextHost, first + count + 1, start) == start) return first;
        }
    }
}
