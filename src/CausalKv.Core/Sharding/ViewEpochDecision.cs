namespace CausalKv.Sharding;

/// <summary>
/// Decides the epoch of a <c>PUT /view</c>, the same way at a node and at the router. The rules:
/// <list type="bullet">
/// <item>No epoch given: the layout already installed is a retry of that view at its own epoch (no new epoch, so
/// resending a body converges instead of renumbering); any other layout gets the epoch after the highest known.</item>
/// <item>An epoch above the highest known is used as is.</item>
/// <item>The installed view's own epoch with its own layout is a retry of it (an idempotent resend).</item>
/// <item>Any other epoch at or below the highest known is stale: refused, naming the current epoch.</item>
/// </list>
/// Invariant: an epoch once installed with one layout is never installed with another, and no epoch above
/// <see cref="ShardView.MaxEpoch"/> is ever decided (no arithmetic here overflows).
/// </summary>
public sealed record ViewEpochDecision(ViewEpochVerdict Verdict, ShardView View, string? Error)
{
    /// <param name="installed">The view in force (null before the first).</param>
    /// <param name="highestKnown">The highest epoch known anywhere; never taken below <paramref name="installed"/>'s.</param>
    /// <param name="layout">The proposed layout (its own epoch is ignored).</param>
    /// <param name="requested">The epoch the request names, or null.</param>
    public static ViewEpochDecision Decide(ShardView? installed, long highestKnown, ShardView layout, long? requested)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var current = Math.Max(highestKnown, installed?.Epoch ?? 0);
        var sameAsInstalled = installed is not null && installed.SameLayoutAs(layout);
        if (requested is null && !(sameAsInstalled && installed!.Epoch == current) && current >= ShardView.MaxEpoch)
        {
            // Only a view installed before epochs were bounded can be here: no next epoch may be given, and none overflows.
            return new ViewEpochDecision(ViewEpochVerdict.Stale, layout, $"The current epoch {current} is at or above the highest a view may have ({ShardView.MaxEpoch}): no newer view can be installed. Set the nodes' views aside (membership.json) to start the epochs again.");
        }
        if (requested is null)
        {
            return sameAsInstalled && installed!.Epoch == current
                ? new ViewEpochDecision(ViewEpochVerdict.Retry, installed, null)
                : new ViewEpochDecision(ViewEpochVerdict.Install, layout.WithEpoch(current + 1), null);
        }
        if (requested > current) return new ViewEpochDecision(ViewEpochVerdict.Install, layout.WithEpoch(requested.Value), null);
        if (sameAsInstalled && requested == installed!.Epoch && installed.Epoch == current)
            return new ViewEpochDecision(ViewEpochVerdict.Retry, installed, null);
        var error = sameAsInstalled && installed!.Epoch == current
            ? $"Epoch {requested} is older than the current view's epoch {current}, which has this layout already; resend with \"epoch\": {current} (or without an epoch) to finish it."
            : $"Epoch {requested} is not newer than the current view's epoch {current}, and is not a resend of the view installed at it; send an epoch above {current}, or none to get {current + 1}.";
        return new ViewEpochDecision(ViewEpochVerdict.Stale, layout.WithEpoch(requested.Value), error);
    }
}
