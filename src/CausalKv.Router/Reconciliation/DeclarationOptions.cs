using CausalKv.Sharding;

namespace CausalKv.Router.Reconciliation;

/// <summary>
/// The declared cluster (<c>CausalKv:Cluster</c>): the members by name, either spread over <see cref="Shards"/> shards
/// (of <see cref="ReplicasPerShard"/> replicas, the rest being spares) or placed by an explicit <see cref="Layout"/>,
/// under a <see cref="Generation"/> that only grows. With no members the router reconciles nothing (views come from
/// <c>PUT /view</c>, as before).
/// </summary>
internal sealed class DeclarationOptions
{
    public const string Section = "CausalKv:Cluster";

    /// <summary>Raise it with every change of the declaration: a router holding an older one stands down before a newer one.</summary>
    public long Generation { get; set; } = 1;

    /// <summary>Shards to spread <see cref="Members"/> over (with no <see cref="Layout"/>).</summary>
    public int Shards { get; set; } = 1;

    /// <summary>Replicas per shard; members beyond <c>Shards * ReplicasPerShard</c> are spares. Null: every member serves.</summary>
    public int? ReplicasPerShard { get; set; }

    /// <summary>Member names in order (<c>CausalKv:Cluster:Members:0</c>, ... or one comma-separated value).</summary>
    public List<string> Members { get; set; } = [];

    /// <summary>An explicit layout instead: shard name -> member names.</summary>
    public Dictionary<string, List<string>> Layout { get; set; } = [];

    /// <summary>Where a member listens, by name (<c>host:port</c> or a URL); else its service-discovery entry, else <c>name:Port</c>.</summary>
    public Dictionary<string, string> Addresses { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The port of a member known by name only (a DNS name, as a StatefulSet's pods have).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>How often the reconciler compares the running cluster with the declaration.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(1);

    public bool IsDeclared => Members.Count > 0 || Layout.Count > 0;

    public bool TryBuild(out ClusterDeclaration? declaration, out string? error)
    {
        if (Layout.Count > 0)
        {
            return ClusterDeclaration.TryCreate(Generation,
                [.. Layout.Select(kv => new KeyValuePair<string, IReadOnlyList<string>>(kv.Key, kv.Value))], out declaration, out error);
        }
        return ClusterDeclaration.TryCreate(Generation, Shards, ReplicasPerShard, Members, out declaration, out error);
    }

    /// <summary><c>CausalKv:Cluster:Members</c> given as one comma-separated value (an environment variable) becomes the list.</summary>
    public void ReadMemberList(IConfiguration configuration)
    {
        if (Members.Count == 0 && configuration[Section + ":Members"] is { Length: > 0 } list)
            Members = [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }
}
