using System.Collections.ObjectModel;

namespace CausalKv.Sharding;

/// <summary>
/// Immutable view of the cluster layout: an epoch plus, for every shard name, its replicas
/// (in the order they were given). Instances are always valid (see <see cref="Validate"/>).
/// </summary>
public sealed class ShardView
{
    private static readonly IReadOnlyList<ViewNode> NoNodes = Array.Empty<ViewNode>();

    private readonly Dictionary<int, string> _shardByNodeId;

    private ShardView(long epoch, IReadOnlyDictionary<string, IReadOnlyList<ViewNode>> shards)
    {
        Epoch = epoch;

        // Defensive copy: callers may mutate their dictionary/lists afterwards.
        var copy = new Dictionary<string, IReadOnlyList<ViewNode>>(shards.Count, StringComparer.Ordinal);
        var byId = new Dictionary<int, string>();
        var all = new List<ViewNode>();
        foreach (var (name, nodes) in shards)
        {
            var replicas = nodes.ToArray();
            copy.Add(name, Array.AsReadOnly(replicas));
            foreach (var node in replicas)
            {
                byId.Add(node.Id, name);
            }
        }

        Shards = new ReadOnlyDictionary<string, IReadOnlyList<ViewNode>>(copy);
        ShardNames = Array.AsReadOnly(copy.Keys.Order(StringComparer.Ordinal).ToArray());
        foreach (var name in ShardNames)
        {
            all.AddRange(copy[name]);
        }
        AllNodes = all.AsReadOnly();
        _shardByNodeId = byId;
    }

    /// <summary>
    /// The highest epoch a view may be given: 2^53, the largest integer every JSON reader reads exactly, and far from
    /// <see cref="long.MaxValue"/> so that the next epoch always exists. <c>PUT /view</c> refuses any above it.
    /// </summary>
    public const long MaxEpoch = 1L << 53;

    /// <summary>Monotonic version of the view.</summary>
    public long Epoch { get; }

    /// <summary>Shard name -&gt; replicas (replica order preserved as given).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ViewNode>> Shards { get; }

    /// <summary>Shard names, sorted ordinal.</summary>
    public IReadOnlyList<string> ShardNames { get; }

    /// <summary>Every node of the view: shards in <see cref="ShardNames"/> order, replicas in given order.</summary>
    public IReadOnlyList<ViewNode> AllNodes { get; }

    /// <summary>The shard containing node <paramref name="nodeId"/>, or null if the node is not in this view.</summary>
    public string? ShardOf(int nodeId) => _shardByNodeId.GetValueOrDefault(nodeId);

    /// <summary>True if node <paramref name="nodeId"/> is a member of this view.</summary>
    public bool Contains(int nodeId) => _shardByNodeId.ContainsKey(nodeId);

    /// <summary>Replicas of <paramref name="shard"/>; empty if the shard is not in this view.</summary>
    public IReadOnlyList<ViewNode> NodesOf(string shard) =>
        Shards.TryGetValue(shard, out var nodes) ? nodes : NoNodes;

    /// <summary>
    /// True if both views have the same shard names and every shard has the same set of
    /// (address, id) replicas. Epoch and replica order are ignored.
    /// </summary>
    public bool SameLayoutAs(ShardView other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Shards.Count != other.Shards.Count)
        {
            return false;
        }
        foreach (var (name, nodes) in Shards)
        {
            if (!other.Shards.TryGetValue(name, out var otherNodes) || nodes.Count != otherNodes.Count)
            {
                return false;
            }
            // ViewNode is a record: value equality on (Address, Id).
            if (!new HashSet<ViewNode>(nodes).SetEquals(otherNodes))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Checks a proposed layout. Returns null if it is valid, otherwise a human-readable error
    /// message (suitable for an HTTP 400 body). Rules: at least one shard; shard names non-empty
    /// (not whitespace-only); every shard has at least one node; no null node; node ids unique
    /// across the whole view; addresses unique across the whole view (compared case-insensitively,
    /// host names being case-insensitive); every address is "host:port" with a non-empty host
    /// without whitespace and a decimal port in 1..65535.
    /// </summary>
    public static string? Validate(IReadOnlyDictionary<string, IReadOnlyList<ViewNode>>? shards)
    {
        if (shards is null || shards.Count == 0)
        {
            return "view must contain at least one shard";
        }

        var ids = new Dictionary<int, string>();
        var endpoints = new Dictionary<string, (string Shard, ViewNode Node)>(StringComparer.Ordinal);
        foreach (var name in shards.Keys.Order(StringComparer.Ordinal))
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                return "shard name must not be empty";
            }
            var nodes = shards[name];
            if (nodes is null || nodes.Count == 0)
            {
                return $"shard '{name}' has no nodes";
            }
            foreach (var node in nodes)
            {
                if (node is null)
                {
                    return $"shard '{name}' contains a null node";
                }
                if (AddressError(node.Address) is { } addressError)
                {
                    return $"node {node.Id} in shard '{name}': {addressError}";
                }
                if (ids.TryGetValue(node.Id, out var firstShard))
                {
                    return $"duplicate node id {node.Id} (in shard '{firstShard}' and shard '{name}')";
                }
                ids.Add(node.Id, name);
                foreach (var endpoint in NodeAddress.Identities(node.Address))
                {
                    if (endpoints.TryGetValue(endpoint, out var first))
                    {
                        return first.Node.Address == node.Address
                            ? $"duplicate address '{node.Address}' (node {first.Node.Id} in shard '{first.Shard}' and node {node.Id} in shard '{name}')"
                            : $"duplicate address: '{first.Node.Address}' (node {first.Node.Id}, shard '{first.Shard}') and '{node.Address}' (node {node.Id}, shard '{name}') are one endpoint";
                    }
                }
                foreach (var endpoint in NodeAddress.Identities(node.Address)) endpoints.Add(endpoint, (name, node));
            }
        }
        return null;
    }

    /// <summary>
    /// Validates and builds a view. On failure returns false with <paramref name="error"/> set.
    /// In addition to <see cref="Validate"/>, a negative epoch is rejected.
    /// </summary>
    public static bool TryCreate(
        long epoch,
        IReadOnlyDictionary<string, IReadOnlyList<ViewNode>>? shards,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ShardView? view,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        view = null;
        if (epoch < 0)
        {
            error = $"epoch must be non-negative (got {epoch})";
            return false;
        }
        error = Validate(shards);
        if (error is not null)
        {
            return false;
        }
        view = new ShardView(epoch, shards!);
        return true;
    }

    /// <summary>Validates and builds a view; throws <see cref="ArgumentException"/> with the validation message on failure.</summary>
    public static ShardView Create(long epoch, IReadOnlyDictionary<string, IReadOnlyList<ViewNode>> shards) =>
        TryCreate(epoch, shards, out var view, out var error) ? view : throw new ArgumentException(error, nameof(shards));

    /// <summary>Returns the same layout with a different epoch.</summary>
    public ShardView WithEpoch(long epoch) =>
        epoch < 0 ? throw new ArgumentOutOfRangeException(nameof(epoch)) : new ShardView(epoch, Shards);

    /// <summary>Builds a <see cref="HashRing"/> over this view's shard names.</summary>
    public HashRing CreateRing() => new(ShardNames);

    /// <summary>Error for an address that is not a plain "host:port" (<see cref="NodeAddress"/>), or null if it is well formed.</summary>
    public static string? AddressError(string? address) => NodeAddress.Error(address);

    /// <inheritdoc />
    public override string ToString() =>
        $"epoch {Epoch}: " + string.Join("; ", ShardNames.Select(s => $"{s}=[{string.Join(", ", Shards[s].Select(n => $"{n.Id}@{n.Address}"))}]"));
}
