using Aspire.Hosting.ApplicationModel;

namespace CausalKv.Hosting;

/// <summary>
/// One store node of a cluster: its id in views, the resource that runs it, and where it listens. Nodes listen on a
/// fixed port chosen when the model is built (no proxy in between), so the address in the view stays valid when the
/// node is restarted from the dashboard.
/// </summary>
public sealed class CausalKvNode
{
    internal CausalKvNode(int id, IResourceWithEndpoints resource, string host, int port)
    {
        Id = id;
        Resource = resource;
        Host = host;
        Port = port;
    }

    public int Id { get; }

    public IResourceWithEndpoints Resource { get; }

    public string Name => Resource.Name;

    public string Host { get; }

    public int Port { get; }

    /// <summary><c>host:port</c>, as views name nodes.</summary>
    public string Address => $"{Host}:{Port}";

    public Uri Url => new($"http://{Address}");

    /// <summary>A spare is declared but started only when a shard is added.</summary>
    public bool IsSpare { get; internal set; }
}
