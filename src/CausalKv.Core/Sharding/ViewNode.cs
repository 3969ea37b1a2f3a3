namespace CausalKv.Sharding;

/// <summary>
/// One replica in a <see cref="ShardView"/>: its network address ("host:port") and its
/// cluster-wide unique node id.
/// </summary>
public sealed record ViewNode(string Address, int Id);
