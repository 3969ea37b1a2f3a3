namespace CausalKv.Router.Discovery;

/// <summary>
/// The outcome of a <c>PUT /view</c> at the router: the epoch it installed (or, when refused, the epoch that stays in
/// force) and every node's answer (when refused for unreachable nodes, their probe failures).
/// </summary>
internal sealed record ViewBroadcast(long Epoch, IReadOnlyList<NodeReply> Nodes)
{
    /// <summary>Set when the view was refused before any node got it: 409 for a stale epoch, 503 for an unreachable node.</summary>
    public int? RefusedWith { get; init; }

    /// <summary>Why it was refused.</summary>
    public string? Error { get; init; }

    /// <summary>True when the view was the one in force already, sent again to finish what an earlier attempt left undone.</summary>
    public bool Retry { get; init; }

    public bool AllSucceeded => RefusedWith is null && Nodes.All(n => n.Status == StatusCodes.Status200OK);
}
