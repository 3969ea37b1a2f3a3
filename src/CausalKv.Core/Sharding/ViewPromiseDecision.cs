namespace CausalKv.Sharding;

/// <summary>
/// Phase one of a view's install: whether a node promises a proposed view (<c>POST /view/prepare</c>), and whether it may
/// install one (<c>PUT /view</c>), given the view it installed and the highest view it promised. Routers install a view
/// only once every node it involves promised it; two routers that see different member addresses, or hold different
/// declarations of one generation, may decide one epoch with two layouts, and without the promise each would reach some
/// nodes first, leaving two layouts in force under one epoch. The rules, for a proposed view of epoch <c>e</c>:
/// <list type="bullet">
/// <item>The installed view itself (its epoch, its layout): kept. That epoch's layout is settled at this node.</item>
/// <item><c>e</c> at or below the installed epoch otherwise: refused, as <see cref="ViewEpochDecision"/> refuses it.</item>
/// <item>The promised view itself: kept (a prepare sent again, or the install that follows it).</item>
/// <item><c>e</c> at the promised epoch with another layout, or below it: refused. A node remembers only its highest
/// promise, so it must hold back every lower epoch: it may have promised one of them to a layout it no longer names.</item>
/// <item>Otherwise: promised (the node records it before it answers).</item>
/// </list>
/// Invariant: a node never promises or installs two layouts under one epoch. The targets of two views of one cluster
/// share a node (both hold every node of the view in force), so at most one layout per epoch gathers every promise.
/// </summary>
public sealed record ViewPromiseDecision(ViewPromiseVerdict Verdict, long Holds, string? Error)
{
    /// <param name="installed">The view the node installed (null before the first).</param>
    /// <param name="promised">The highest view it promised (null when none, or none above <paramref name="installed"/>).</param>
    /// <param name="proposed">The view proposed, with its epoch.</param>
    /// <returns>The verdict, and in <see cref="Holds"/> the highest epoch the node installed or promised after it.</returns>
    public static ViewPromiseDecision Decide(ShardView? installed, ShardView? promised, ShardView proposed)
    {
        ArgumentNullException.ThrowIfNull(proposed);
        var installedEpoch = installed?.Epoch ?? 0;
        // A promise at or below the installed epoch is spent: the install settled that epoch, and the epochs below it.
        if (promised is not null && promised.Epoch <= installedEpoch) promised = null;
        var holds = Math.Max(installedEpoch, promised?.Epoch ?? 0);
        var e = proposed.Epoch;
        if (installed is not null && e == installedEpoch)
        {
            return installed.SameLayoutAs(proposed)
                ? new(ViewPromiseVerdict.Kept, holds, null)
                : new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is installed here with another layout ({installed}); send an epoch above {holds}.");
        }
        if (e < installedEpoch)
            return new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is not newer than the installed view's epoch {installedEpoch}; send an epoch above {holds}.");
        if (promised is not null && e == promised.Epoch)
        {
            return promised.SameLayoutAs(proposed)
                ? new(ViewPromiseVerdict.Kept, holds, null)
                : new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is promised here to another layout ({promised}); send an epoch above {holds}.");
        }
        if (promised is not null && e < promised.Epoch)
            return new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is below epoch {promised.Epoch}, which this node promised to a view about to be installed; send an epoch above {holds}.");
        if (e < 1 || e > ShardView.MaxEpoch)
            return new(ViewPromiseVerdict.Refused, holds, $"Epoch {e} is outside 1..{ShardView.MaxEpoch}.");
        return new(ViewPromiseVerdict.Promise, e, null);
    }
}
