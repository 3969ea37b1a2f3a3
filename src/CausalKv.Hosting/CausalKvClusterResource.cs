using CausalKv.Hosting;

namespace Aspire.Hosting.ApplicationModel;

/// <summary>
/// A CausalKv cluster: its store nodes (each a resource of its own, with its own address and health, because a shard
/// router needs every replica), the layout of shards, and the cluster key. Its connection string lists the nodes'
/// URLs; it is Running once the router reconciling it has installed the declared view, so <c>WaitFor(kv)</c> waits until the store serves data.
/// </summary>
public sealed class CausalKvClusterResource : Resource, IResourceWithConnectionString, IResourceWithWaitSupport
{
    private readonly List<CausalKvNode> _nodes = [];

    internal CausalKvClusterResource(string name, ParameterResource clusterKey) : base(name)
    {
        ClusterKeyParameter = clusterKey;
        Control = new CausalKvClusterControl(this);
    }

    /// <summary>The secret every node and the router share; node-to-node and cluster-changing requests carry it.</summary>
    public ParameterResource ClusterKeyParameter { get; }

    /// <summary>Shards in the first view.</summary>
    public int Shards { get; internal set; } = 3;

    /// <summary>Nodes in the first view (spread over <see cref="Shards"/>, consecutive ids per shard).</summary>
    public int Nodes { get; internal set; } = 6;

    /// <summary>Nodes declared but started only when a shard is added.</summary>
    public int SpareNodes { get; internal set; }

    /// <summary>Where nodes keep their write-ahead logs (one folder per node); a temporary folder per run when null.</summary>
    public string? DataDirectory { get; internal set; }

    /// <summary>Declares the executables that run the nodes (<see cref="Aspire.Hosting.CausalKvBuilderExtensions.WithNodeLauncher"/>); null: project resources.</summary>
    public ICausalKvNodeLauncher? NodeLauncher { get; internal set; }

    /// <summary>
    /// The router that reconciles the declared cluster (<see cref="Aspire.Hosting.CausalKvBuilderExtensions.WithClusterDeclaration{T}"/>):
    /// it installs and resends views, and Add shard / Remove shard declare the next generation to it. Null: nothing installs
    /// a view, and the nodes wait for a <c>PUT /view</c>.
    /// </summary>
    public IResourceWithEndpoints? Reconciler { get; internal set; }

    /// <summary>Nodes accept fault injection (<c>PUT /admin/faults</c>) and the dashboard shows Cut, Heal and Kill; off unless asked for.</summary>
    public bool FaultInjection { get; internal set; }

    /// <summary><c>CausalKv:*</c> settings given to every node (name without the section, e.g. <c>CausalWaitDeadline</c>).</summary>
    public IDictionary<string, string> NodeSettings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public IReadOnlyList<CausalKvNode> AllNodes => _nodes;

    /// <summary>What the cluster does while the application runs: declarations, cuts, kills, shards added and removed.</summary>
    public CausalKvClusterControl Control { get; }

    public CausalKvNode Node(int id) => _nodes.FirstOrDefault(n => n.Id == id) ?? throw new ArgumentException($"Cluster {Name} has no node {id}.", nameof(id));

    /// <summary><c>Endpoints=http://host:port,...</c>: every node of the first view.</summary>
    public ReferenceExpression ConnectionStringExpression
    {
        get
        {
            var expression = new ReferenceExpressionBuilder();
            expression.AppendLiteral("Endpoints=");
            var first = true;
            foreach (var node in _nodes.Where(n => !n.IsSpare))
            {
                if (!first) expression.AppendLiteral(",");
                expression.Append($"{node.Resource.GetEndpoint("http").Property(EndpointProperty.Url)}");
                first = false;
            }
            return expression.Build();
        }
    }

    /// <summary><c>http://host:port,...</c>: every node of the first view, for <c>{NAME}_ENDPOINTS</c>.</summary>
    public ReferenceExpression EndpointsExpression
    {
        get
        {
            var expression = new ReferenceExpressionBuilder();
            var first = true;
            foreach (var node in _nodes.Where(n => !n.IsSpare))
            {
                if (!first) expression.AppendLiteral(",");
                expression.Append($"{node.Resource.GetEndpoint("http").Property(EndpointProperty.Url)}");
                first = false;
            }
            return expression.Build();
        }
    }

    internal void SetNodes(IEnumerable<CausalKvNode> nodes)
    {
        _nodes.Clear();
        _nodes.AddRange(nodes);
    }
}
