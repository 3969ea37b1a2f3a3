namespace CausalKv.Router.Routing;

internal enum FailoverStatus
{
    /// <summary>A replica was reached; what it answered is the caller's business.</summary>
    Answered,
    /// <summary>The router knows no view yet.</summary>
    NoView,
    /// <summary>No replica of the shard could be connected to before the deadline.</summary>
    Unreachable,
    /// <summary>The client went away.</summary>
    Cancelled,
}

/// <summary>How a <see cref="ReplicaFailover"/> run ended: for which shard, after how many attempts, at which replica, and the 503 message when it failed.</summary>
internal readonly record struct FailoverResult(FailoverStatus Status, string? Shard, int Attempts, TimeSpan Elapsed, Replica? Replica, string? Error = null)
{
    public const string NoViewMessage =
        "The router knows no view yet: install one with PUT /view (at the router, or at any node the router polls).";
}
