namespace CausalKv.Sharding;

/// <summary>What a node answers to a proposed view under its installed view and its promise (<see cref="ViewPromiseDecision"/>).</summary>
public enum ViewPromiseVerdict
{
    /// <summary>An epoch above everything the node installed or promised: it promises this layout for it (and records that first).</summary>
    Promise,

    /// <summary>The view the node already installed or promised, at its own epoch: nothing new to record, and no conflict.</summary>
    Kept,

    /// <summary>Another layout under an epoch the node installed or promised, or an epoch below them: refused (409).</summary>
    Refused,
}
