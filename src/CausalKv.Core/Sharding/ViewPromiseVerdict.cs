namespace CausalKv.Sharding;

/// <summary>What a node answers to a proposed view under its installed view and its promises (<see cref="ViewPromiseDecision"/>).</summary>
public enum ViewPromiseVerdict
{
    /// <summary>An epoch above the installed one that no promise names: the node promises this layout for it (and records that first).</summary>
    Promise,

    /// <summary>The view the node already installed, or promised under that epoch: nothing new to record, and no conflict.</summary>
    Kept,

    /// <summary>Another layout under an epoch the node installed or promised, an epoch below the installed one, or one held back by the promises' floor: refused (409).</summary>
    Refused,
}
