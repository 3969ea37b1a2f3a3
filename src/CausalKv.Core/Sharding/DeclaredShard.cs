namespace CausalKv.Sharding;

/// <summary>One shard of a <see cref="ClusterDeclaration"/>: its name and its replicas, in declared order.</summary>
public sealed record DeclaredShard(string Name, IReadOnlyList<DeclaredMember> Members);
