using CausalKv.Sharding;

namespace CausalKv.Router.Discovery;

/// <summary>
/// What a <c>PUT /view</c> at the router will do, decided without the network: the view to send, with its epoch
/// decided by <see cref="ViewEpochDecision"/> against the newest view any node reported, and the nodes to send it to.
/// Targets are every node of the old and the new view (a node leaving the view must hand its keys off); a retry of
/// the current view also goes to every node the broadcast of that view went to, so that a node of the view before it
/// that did not finish its handoff gets the view again. <see cref="Retry"/> is true when nothing new is installed.
/// </summary>
internal sealed record ViewChangePlan(ShardView View, IReadOnlyList<ViewNode> Targets, bool Retry)
{
    /// <param name="current">The newest view the router knows (null before any).</param>
    /// <param name="highestEpoch">The highest epoch any node reported.</param>
    /// <param name="previous">The plan of the router's last broadcast, if any.</param>
    /// <param name="layout">The requested layout (its epoch is ignored).</param>
    /// <param name="requested">The epoch the request names, or null.</param>
    /// <param name="conflict">Why the view is refused (409), when it returns null.</param>
    public static ViewChangePlan? Create(
        ShardView? current, long highestEpoch, ViewChangePlan? previous, ShardView layout, long? requested, out string? conflict)
    {
        var decision = ViewEpochDecision.Decide(current, highestEpoch, layout, requested);
        if (decision.Verdict == ViewEpochVerdict.Stale)
        {
            conflict = decision.Error;
            return null;
        }
        conflict = null;
        var retry = decision.Verdict == ViewEpochVerdict.Retry;
        var targets = decision.View.AllNodes.Concat(current?.AllNodes ?? []);
        if (retry && previous is not null && previous.View.Epoch == decision.View.Epoch && previous.View.SameLayoutAs(decision.View))
            targets = targets.Concat(previous.Targets);
        return new ViewChangePlan(decision.View, targets.Distinct().OrderBy(n => n.Id).ThenBy(n => n.Address, StringComparer.Ordinal).ToList(), retry);
    }

    /// <summary>The refusal of a view some of whose nodes did not answer the router's probe; nothing was sent to any node.</summary>
    /// <param name="unreachable">Each node that did not answer, with what went wrong.</param>
    /// <param name="currentEpoch">The epoch that stays in force.</param>
    public static string UnreachableError(IReadOnlyList<(ViewNode Node, string Reason)> unreachable, long currentEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfZero(unreachable.Count);
        var nodes = string.Join("; ", unreachable.OrderBy(u => u.Node.Id).Select(u => $"node {u.Node.Id} at {u.Node.Address} ({u.Reason})"));
        var (noun, verb) = unreachable.Count == 1 ? ("node", "answers") : ("nodes", "answer");
        return $"The view was not installed on any node (epoch {currentEpoch} stays in force): the router cannot reach {unreachable.Count} " +
               $"{noun} of the old or the new view: {nodes}. Every node of both views must answer before a view changes, so that no " +
               $"node is left on the old view; once the {noun} {verb} again, send the same PUT /view again.";
    }
}
