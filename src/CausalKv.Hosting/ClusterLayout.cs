namespace CausalKv.Hosting;

/// <summary>
/// Which node ids make up which shard in a declaration. Pure: the control declares a layout to the reconciling
/// router, this type only says what it is.
/// </summary>
public static class ClusterLayout
{
    /// <summary>Shards of consecutive nodes: with 6 nodes and 3 shards, shard0 = {0,1}, shard1 = {2,3}, shard2 = {4,5}.</summary>
    public static Dictionary<string, int[]> Initial(int nodes, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        if (nodes < shards) throw new ArgumentException($"{nodes} nodes cannot fill {shards} shards: every shard needs a node.", nameof(nodes));
        var layout = new Dictionary<string, int[]>(StringComparer.Ordinal);
        for (var s = 0; s < shards; s++)
        {
            var from = s * nodes / shards;
            var to = (s + 1) * nodes / shards;
            layout[ShardName(s)] = Enumerable.Range(from, to - from).ToArray();
        }
        return layout;
    }

    public static string ShardName(int index) => $"shard{index}";

    /// <summary>The layout with one more shard made of <paramref name="nodes"/>, named after the highest shard so far.</summary>
    public static Dictionary<string, int[]> WithShard(IReadOnlyDictionary<string, int[]> layout, IReadOnlyList<int> nodes)
    {
        if (nodes.Count == 0) throw new ArgumentException("A shard needs at least one node.", nameof(nodes));
        var used = layout.Values.SelectMany(x => x).ToHashSet();
        if (nodes.Any(used.Contains)) throw new ArgumentException("A new shard's nodes must not serve another shard.", nameof(nodes));
        var next = layout.Keys.Select(Index).DefaultIfEmpty(-1).Max() + 1;
        var result = Copy(layout);
        result[ShardName(next)] = [.. nodes];
        return result;
    }

    /// <summary>The layout without its highest shard, and the nodes that leave with it.</summary>
    public static (Dictionary<string, int[]> Layout, int[] Freed) WithoutLastShard(IReadOnlyDictionary<string, int[]> layout)
    {
        if (layout.Count < 2) throw new InvalidOperationException("The last shard cannot be removed: a cluster needs one.");
        var last = layout.Keys.OrderBy(Index).ThenBy(k => k, StringComparer.Ordinal).Last();
        var result = Copy(layout);
        result.Remove(last);
        return (result, layout[last]);
    }

    /// <summary>A one-line description for logs and the dashboard: <c>shard0: 0 1 | shard1: 2 3</c>.</summary>
    public static string Describe(IReadOnlyDictionary<string, int[]> layout) =>
        string.Join(" | ", layout.OrderBy(kv => Index(kv.Key)).Select(kv => $"{kv.Key}: {string.Join(' ', kv.Value)}"));

    internal static Dictionary<string, int[]> Copy(IReadOnlyDictionary<string, int[]> layout) =>
        layout.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);

    private static int Index(string shard) =>
        shard.StartsWith("shard", StringComparison.Ordinal) && int.TryParse(shard.AsSpan(5), out var i) ? i : -1;
}
