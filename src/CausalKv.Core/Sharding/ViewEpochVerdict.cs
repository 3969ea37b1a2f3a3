namespace CausalKv.Sharding;

/// <summary>What a proposed view's epoch means against the view already installed (<see cref="ViewEpochDecision"/>).</summary>
public enum ViewEpochVerdict
{
    /// <summary>A new view: install it with the decided epoch.</summary>
    Install,

    /// <summary>The installed view again, at its own epoch: change nothing, finish whatever handoff is still owed.</summary>
    Retry,

    /// <summary>An epoch at or below the current one with another layout: refused (409), nothing changes.</summary>
    Stale,
}
