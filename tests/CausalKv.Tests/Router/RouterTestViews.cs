using CausalKv.Router.Routing;
using CausalKv.Sharding;

namespace CausalKv.Tests.Router;

/// <summary>Hand-made cluster maps for the router's tests.</summary>
internal static class RouterTestViews
{
    /// <summary>Shards "s0".."s{shards-1}", each with <paramref name="replicas"/> nodes; node n at 10.0.1.n:8080.</summary>
    public static ClusterMap Map(int shards, int replicas, long epoch = 1)
    {
        var layout = new Dictionary<string, IReadOnlyList<ViewNode>>(StringComparer.Ordinal);
        var id = 0;
        for (var s = 0; s < shards; s++)
        {
            var nodes = new List<ViewNode>();
            for (var r = 0; r < replicas; r++, id++) nodes.Add(new ViewNode($"10.0.1.{id}:8080", id));
            layout[$"s{s}"] = nodes;
        }
        return ClusterMap.For(ShardView.Create(epoch, layout), node => new Replica(node));
    }
}
