namespace CausalKv.Router.Discovery;

/// <summary>The outcome of a broadcast <c>PUT /view</c>: the epoch it installed and every node's answer.</summary>
internal sealed record ViewBroadcast(long Epoch, IReadOnlyList<NodeReply> Nodes)
{
    public bool AllSucceeded => Nodes.All(n => n.Status == StatusCodes.Status200OK);
}
