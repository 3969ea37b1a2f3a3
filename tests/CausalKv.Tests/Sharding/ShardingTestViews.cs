using CausalKv.Sharding;

namespace CausalKv.Tests.Sharding;

/// <summary>Helpers for building hand-made views in tests.</summary>
internal static class ShardingTestViews
{
    /// <summary>
    /// Builds a view from a compact description: shard name -&gt; node ids; node n gets address "10.0.0.n:8080".
    /// </summary>
    public static ShardView View(long epoch, params (string Shard, int[] Ids)[] shards)
    {
        var map = new Dictionary<string, IReadOnlyList<ViewNode>>(StringComparer.Ordinal);
        foreach (var (shard, ids) in shards)
        {
            map.Add(shard, ids.Select(Node).ToArray());
        }
        return ShardView.Create(epoch, map);
    }

    public static ViewNode Node(int id) => new($"10.0.0.{id}:8080", id);

    public static IReadOnlyDictionary<string, IReadOnlyList<ViewNode>> Layout(params (string Shard, ViewNode[] Nodes)[] shards)
    {
        var map = new Dictionary<string, IReadOnlyList<ViewNode>>(StringComparer.Ordinal);
        foreach (var (shard, nodes) in shards)
        {
            map.Add(shard, nodes);
        }
        return map;
    }
}
