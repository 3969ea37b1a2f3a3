namespace CausalKv.Sharding;

/// <summary>What a reconciler does in one round (<see cref="ReconcileDecision"/>).</summary>
public enum ReconcileAction
{
    /// <summary>Every member holds the declared view: nothing to do.</summary>
    InSync,

    /// <summary>Install a new view (first view, a changed layout, a replica at a new address, a new generation) on the targets.</summary>
    Install,

    /// <summary>
    /// Send the view in force again to the nodes that answer without it (restarted, or missed it): the declared view, to
    /// members and departed nodes; or, before a change, the view it replaces, to its nodes, so none skips it.
    /// </summary>
    Resend,

    /// <summary>Nothing can be done until the blockers clear (members that do not answer, a node that must hand its keys off).</summary>
    Wait,

    /// <summary>The nodes follow a newer generation than this reconciler's declaration: it must not undo it.</summary>
    StandDown,
}
