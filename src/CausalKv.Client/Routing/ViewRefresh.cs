namespace CausalKv.Client.Routing;

/// <summary>Why the client asks for the view again.</summary>
internal enum ViewRefreshReason
{
    /// <summary>Nothing in the answer says the view moved on.</summary>
    None,

    /// <summary>The view is older than the refresh interval: refreshed in the background, the request goes ahead.</summary>
    Aged,

    /// <summary>The node serves no data (it left the view, or has none yet): nothing was applied; try again on the new view.</summary>
    NodeNotServing,

    /// <summary>Nodes forwarded the request back and forth (they disagree about the view): nothing was applied.</summary>
    ForwardLoop,

    /// <summary>A node answered <c>GET /data</c> for another shard than the client asked (it moved): retry on the new view.</summary>
    NodeMovedShard,

    /// <summary>No replica of the shard could be reached: the nodes may have moved; retry only if the view did change.</summary>
    ShardUnreachable,
}

/// <summary>
/// Decides from what a node answered whether the client's view is behind, and whether the request may be sent again.
/// A node forwards requests for keys it does not own, so a stale view costs a hop, not a wrong answer; only answers
/// that carried nothing out are retried. No I/O.
/// </summary>
internal static class ViewRefresh
{
    /// <summary>The status a node gives for a request forwarded too many times between nodes that disagree on the view.</summary>
    public const int LoopDetected = 508;

    public static ViewRefreshReason ForAnswer(int status, bool notServing, string? answeredShard = null, string? askedShard = null)
    {
        if (status == 503 && notServing) return ViewRefreshReason.NodeNotServing;
        if (status == LoopDetected) return ViewRefreshReason.ForwardLoop;
        if (status is >= 200 and < 300 && answeredShard is not null && askedShard is not null && !string.Equals(answeredShard, askedShard, StringComparison.Ordinal))
            return ViewRefreshReason.NodeMovedShard;
        return ViewRefreshReason.None;
    }

    public static bool IsAged(long fetchedAtMs, long nowMs, TimeSpan interval) => nowMs - fetchedAtMs >= (long)interval.TotalMilliseconds;

    /// <summary>Whether the request is sent again once the view was refreshed from <paramref name="oldEpoch"/> to <paramref name="newEpoch"/>.</summary>
    public static bool RetryAfterRefresh(ViewRefreshReason reason, long oldEpoch, long newEpoch) => reason switch
    {
        ViewRefreshReason.NodeNotServing or ViewRefreshReason.ForwardLoop or ViewRefreshReason.NodeMovedShard => true,
        ViewRefreshReason.ShardUnreachable => newEpoch > oldEpoch,
        _ => false,
    };
}
