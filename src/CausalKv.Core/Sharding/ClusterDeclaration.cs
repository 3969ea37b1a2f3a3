using System.Globalization;

namespace CausalKv.Sharding;

/// <summary>
/// The cluster an operator declares: which members (by name) make up which shard, under a generation that only grows.
/// The view the cluster runs is derived from it (<see cref="ReconcileDecision"/>); the epochs of views installed for a
/// generation are <c>generation * 2^20 + revision</c>, so every epoch of a newer generation is above every epoch of an
/// older one.
/// Invariant: a declaration is valid (generation in 1..<see cref="MaxGeneration"/>, at least one shard, every shard
/// with at least one member, member names and ids unique across the cluster); <see cref="TryCreate"/> refuses anything else.
/// </summary>
public sealed class ClusterDeclaration
{
    /// <summary>Epochs a generation owns: revisions 1..2^20-1 (a replica that moved address takes one).</summary>
    public const long EpochsPerGeneration = 1L << 20;

    /// <summary>The highest generation whose epochs all stay at or below <see cref="ShardView.MaxEpoch"/>.</summary>
    public const long MaxGeneration = ShardView.MaxEpoch / EpochsPerGeneration - 1;

    private ClusterDeclaration(long generation, IReadOnlyList<DeclaredShard> shards)
    {
        Generation = generation;
        Shards = shards;
        Members = [.. shards.SelectMany(s => s.Members)];
    }

    public long Generation { get; }

    /// <summary>Shards in declared order.</summary>
    public IReadOnlyList<DeclaredShard> Shards { get; }

    /// <summary>Every member, shard by shard.</summary>
    public IReadOnlyList<DeclaredMember> Members { get; }

    /// <summary>The first epoch of this generation: the epoch of the first view installed for it.</summary>
    public long FirstEpoch => Generation * EpochsPerGeneration + 1;

    /// <summary>The last epoch this generation may use.</summary>
    public long LastEpoch => (Generation + 1) * EpochsPerGeneration - 1;

    /// <summary>The generation an epoch belongs to (0 for epochs of views installed by hand below the first generation).</summary>
    public static long GenerationOf(long epoch) => epoch / EpochsPerGeneration;

    /// <summary>Shard name of the <paramref name="index"/>-th shard of a declaration by counts: <c>shard0</c>, <c>shard1</c>, ...</summary>
    public static string ShardName(int index) => "shard" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <paramref name="shards"/> shards over <paramref name="members"/>: with <paramref name="replicasPerShard"/>, the first
    /// <c>shards * replicasPerShard</c> members, consecutive ones per shard (the rest are spares, outside the view);
    /// without it, every member, the later shards taking one more when they do not divide evenly.
    /// </summary>
    public static bool TryCreate(long generation, int shards, int? replicasPerShard, IReadOnlyList<string> members,
        out ClusterDeclaration? declaration, out string? error)
    {
        declaration = null;
        if (shards < 1) { error = "a cluster needs at least one shard (CausalKv:Cluster:Shards)"; return false; }
        if (replicasPerShard is < 1) { error = "a shard needs at least one replica (CausalKv:Cluster:ReplicasPerShard)"; return false; }
        var used = replicasPerShard is { } r ? (long)shards * r : members.Count;
        if (members.Count < used || members.Count < shards)
        {
            error = $"{Math.Max(used, shards)} members are needed for {shards} shards{(replicasPerShard is { } rr ? $" of {rr} replicas" : "")}; {members.Count} are declared (CausalKv:Cluster:Members)";
            return false;
        }
        var layout = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        for (var s = 0; s < shards; s++)
        {
            var from = (int)(s * used / shards);
            var to = (int)((s + 1) * used / shards);
            layout.Add(new(ShardName(s), members.Skip(from).Take(to - from).ToArray()));
        }
        return TryCreate(generation, layout, out declaration, out error, idsFrom: members);
    }

    /// <summary>An explicit layout: shard name -> member names.</summary>
    public static bool TryCreate(long generation, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> layout,
        out ClusterDeclaration? declaration, out string? error) =>
        TryCreate(generation, layout, out declaration, out error, idsFrom: null);

    /// <summary>Throws <see cref="ArgumentException"/> where <see cref="TryCreate(long, int, int?, IReadOnlyList{string}, out ClusterDeclaration?, out string?)"/> refuses.</summary>
    public static ClusterDeclaration Create(long generation, int shards, int? replicasPerShard, IReadOnlyList<string> members) =>
        TryCreate(generation, shards, replicasPerShard, members, out var d, out var error) ? d! : throw new ArgumentException(error);

    public static ClusterDeclaration Create(long generation, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> layout) =>
        TryCreate(generation, layout, out var d, out var error) ? d! : throw new ArgumentException(error);

    private static bool TryCreate(long generation, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> layout,
        out ClusterDeclaration? declaration, out string? error, IReadOnlyList<string>? idsFrom)
    {
        declaration = null;
        if (generation < 1 || generation > MaxGeneration)
        {
            error = $"the generation must be 1..{MaxGeneration} (CausalKv:Cluster:Generation); it is {generation}";
            return false;
        }
        if (layout.Count == 0) { error = "a cluster needs at least one shard"; return false; }
        // Ids are numbered over every member named (spares too), so a spare keeps its id when a later generation uses it.
        var names = (idsFrom ?? layout.SelectMany(s => s.Value).ToList()).ToList();
        if (names.Any(string.IsNullOrWhiteSpace)) { error = "a member name must not be empty"; return false; }
        var duplicate = names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) { error = $"member '{duplicate.Key}' is declared twice"; return false; }
        var ordinals = names.Select(OrdinalOf).ToList();
        var byOrdinal = ordinals.All(o => o is not null) && ordinals.Distinct().Count() == ordinals.Count;
        var ids = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < names.Count; i++) ids[names[i]] = byOrdinal ? ordinals[i]!.Value : i;
        var shards = new List<DeclaredShard>();
        var shardNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, members) in layout)
        {
            if (string.IsNullOrWhiteSpace(name)) { error = "a shard name must not be empty"; return false; }
            if (!shardNames.Add(name)) { error = $"shard '{name}' is declared twice"; return false; }
            if (members.Count == 0) { error = $"shard '{name}' has no member"; return false; }
            shards.Add(new DeclaredShard(name, [.. members.Select(m => new DeclaredMember(m, ids[m]))]));
        }
        declaration = new ClusterDeclaration(generation, shards);
        error = null;
        return true;
    }

    /// <summary>
    /// Whether this declaration may take the place of <paramref name="current"/> at a reconciler: a higher generation,
    /// or the same one unchanged. An older generation, or another layout under the same one, is refused: generations are
    /// what keep two reconcilers from undoing each other.
    /// </summary>
    public bool MayReplace(ClusterDeclaration current, out string? error)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (Generation < current.Generation || (Generation == current.Generation && ToString() != current.ToString()))
        {
            error = $"generation {Generation} is not newer than the declaration in force ({current}); raise the generation to change it";
            return false;
        }
        error = null;
        return true;
    }

    /// <summary>The number a name ends with (<c>kv-node3</c>: 3), or null.</summary>
    public static int? OrdinalOf(string name)
    {
        var start = name.Length;
        while (start > 0 && char.IsAsciiDigit(name[start - 1])) start--;
        if (start == name.Length || name.Length - start > 9) return null;
        return int.Parse(name.AsSpan(start), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>The declared view with these addresses (member name -> <c>host:port</c>), at <paramref name="epoch"/>.</summary>
    public ShardView ToView(long epoch, Func<DeclaredMember, string> address) =>
        ShardView.Create(epoch, Shards.ToDictionary(s => s.Name,
            s => (IReadOnlyList<ViewNode>)[.. s.Members.Select(m => new ViewNode(address(m), m.Id))], StringComparer.Ordinal));

    /// <summary><c>generation 2: shard0: kv-0 kv-1 | shard1: kv-2 kv-3</c>, for logs and the cluster state.</summary>
    public override string ToString() =>
        $"generation {Generation}: " + string.Join(" | ", Shards.Select(s => $"{s.Name}: {string.Join(' ', s.Members.Select(m => m.Name))}"));
}
