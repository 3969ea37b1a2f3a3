namespace CausalKv.Sharding;

/// <summary>
/// Phase one of a view's install: whether a node promises a proposed view (<c>POST /view/prepare</c>), and whether it may
/// install one (<c>PUT /view</c>), given the view it installed and the views it promised (<see cref="ViewPromises"/>, one
/// layout per epoch). Routers install a view only once every node it involves promised it; two routers that see
/// different member addresses, or hold different declarations of one generation, may decide one epoch with two layouts,
/// and without the promise each would reach some nodes first, leaving two layouts in force under one epoch. The rules,
/// for a proposed view of epoch <c>e</c>:
/// <list type="bullet">
/// <item>The installed view itself (its epoch, its layout): kept. That epoch's layout is settled at this node.</item>
/// <item><c>e</c> at or below the installed epoch otherwise: refused, as <see cref="ViewEpochDecision"/> refuses it.</item>
/// <item>The view promised under <c>e</c> itself: kept (a prepare sent again, or the install that follows it).</item>
/// <item>Another layout promised under <c>e</c>: refused.</item>
/// <item><c>e</c> at or below the promises' floor (<see cref="ViewPromises.Floor"/>: a promise dropped for the bound):
/// refused, whatever the layout, since the layout promised there is no longer known.</item>
/// <item>Otherwise: promised (the node records it before it answers), also below a higher promise. A node that lags
/// behind the view in force, having promised a newer install that was never carried out, still takes the resend of the
/// view in force.</item>
/// </list>
/// Invariant: a node never promises or installs two layouts under one epoch. The targets of two views of one cluster
/// share a node (both hold every node of the view in force), so at most one layout per epoch gathers every promise.
/// </summary>
public sealed record ViewPromiseDecision(ViewPromiseVerdict Verdict, long Holds, string? Error)
{
    /// <param name="installed">The view the node installed (null before the first).</param>
    /// <param name="promises">The views it promised; those at or below <paramref name="installed"/>'s epoch are spent.</param>
    /// <param name="proposed">The view proposed, with its epoch.</param>
    /// <returns>The verdict, and in <see cref="Holds"/> the highest epoch the node installed or promised after it.</returns>
    public static ViewPromiseDecision Decide(ShardView? installed, ViewPromises promises, ShardView proposed)
    {
        ArgumentNullException.ThrowIfNull(promises);
        ArgumentNullException.ThrowIfNull(proposed);
        var installedEpoch = installed?.Epoch ?? 0;
        // A promise at or below the installed epoch is spent: the install settled that epoch, and the epochs below it.
        promises = promises.Above(installedEpoch);
        var holds = Math.Max(installedEpoch, promises.HighestEpoch);
        var e = proposed.Epoch;
        if (installed is not null && e == installedEpoch)
        {
            return installed.SameLayoutAs(proposed)
                ? new(ViewPromiseVerdict.Kept, holds, null)
                : new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is installed here with another layout ({installed}); send an epoch above {holds}.");
        }
        if (e < installedEpoch)
            return new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is not newer than the installed view's epoch {installedEpoch}; send an epoch above {holds}.");
        if (promises.At(e) is { } promised)
        {
            return promised.SameLayoutAs(proposed)
                ? new(ViewPromiseVerdict.Kept, holds, null)
                : new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is promised here to another layout ({promised}); send an epoch above {holds}.");
        }
        if (e <= promises.Floor)
        {
            return new(ViewPromiseVerdict.Refused, holds,
                $"Epoch {e} is at or below epoch {promises.Floor}, whose promise this node dropped (it keeps the {ViewPromises.MaxCount} highest) " +
                $"and so no longer knows which layout it promised there; send an epoch above {holds}.");
        }
        if (e < 1 || e > ShardView.MaxEpoch)
            return new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is outside 1..{ShardView.MaxEpoch}.");
        return new(ViewPromiseVerdict.Promise, Math.Max(holds, e), null);
    }
}
