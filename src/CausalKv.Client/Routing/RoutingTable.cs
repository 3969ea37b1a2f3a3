using CausalKv.Sharding;

namespace CausalKv.Client.Routing;

/// <summary>
/// A view ready to route by: the nodes' hash ring over its shard names and each shard's replicas. Immutable; a newer view
/// makes a new table that keeps the <see cref="ReplicaEndpoint"/> (load and penalty) of every node it still holds.
/// </summary>
internal sealed class RoutingTable
{
    private readonly Dictionary<string, ReplicaEndpoint[]> _replicas;

    private RoutingTable(ShardView view, Dictionary<string, ReplicaEndpoint[]> replicas, long fetchedAtMs)
    {
        View = view;
        Ring = view.CreateRing();
        _replicas = replicas;
        FetchedAtMs = fetchedAtMs;
    }

    public ShardView View { get; }

    public HashRing Ring { get; }

    public long Epoch => View.Epoch;

    /// <summary>When the view was last confirmed current (Environment.TickCount64).</summary>
    public long FetchedAtMs { get; }

    public IEnumerable<ReplicaEndpoint> AllReplicas => _replicas.Values.SelectMany(r => r);

    public static RoutingTable For(ShardView view, long fetchedAtMs, RoutingTable? previous = null)
    {
        var known = previous?.AllReplicas.ToDictionary(r => r.Node) ?? [];
        var replicas = new Dictionary<string, ReplicaEndpoint[]>(StringComparer.Ordinal);
        foreach (var shard in view.ShardNames)
        {
            replicas[shard] = [.. view.NodesOf(shard).Select(node => known.TryGetValue(node, out var r) ? r : new ReplicaEndpoint(node))];
        }
        return new RoutingTable(view, replicas, fetchedAtMs);
    }

    /// <summary>The same view, confirmed current at <paramref name="nowMs"/>.</summary>
    public RoutingTable Confirmed(long nowMs) => new(View, _replicas, nowMs);

    public string ShardFor(string key) => Ring.ShardFor(key);

    public IReadOnlyList<ReplicaEndpoint> ReplicasOf(string shard) => _replicas.TryGetValue(shard, out var r) ? r : [];

    /// <summary>The table to route by once <paramref name="candidate"/> (a view some endpoint reported) is known: only a newer epoch moves it.</summary>
    public static bool ShouldAdopt(RoutingTable? current, ShardView candidate) => current is null || candidate.Epoch > current.Epoch;
}
