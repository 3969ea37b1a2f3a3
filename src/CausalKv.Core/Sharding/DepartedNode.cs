namespace CausalKv.Sharding;

/// <summary>
/// A node a view left out, at the address it was last known at, and the epoch of the view that left it out
/// (<paramref name="LeftAt"/>): it hands its keys off once it installs that view or a later one.
/// </summary>
public sealed record DepartedNode(ViewNode Node, long LeftAt);
