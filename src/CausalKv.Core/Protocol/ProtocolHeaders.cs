namespace CausalKv.Protocol;

/// <summary>The HTTP headers of CausalKv's wire protocol, named once for nodes, the router, the AppHost and tests.</summary>
public static class ProtocolHeaders
{
    /// <summary>Causal metadata of a request that has no body (a GET or DELETE), the same JSON as <c>"causal-metadata"</c>.</summary>
    public const string CausalMetadata = "X-Causal-Metadata";

    /// <summary>The cluster key: node-to-node and cluster-changing requests carry it.</summary>
    public const string ClusterKey = "X-CausalKv-Key";

    /// <summary>The id of the node that sent a node-to-node request.</summary>
    public const string FromNode = "X-CausalKv-From";

    /// <summary>How many times a data request was forwarded between nodes (it stops after a few, if views disagree).</summary>
    public const string Hops = "X-CausalKv-Hops";

    /// <summary>
    /// On a node's 503: this node serves no data at all (<c>no-view</c> or <c>not-in-view</c>), unlike a 503 at the
    /// causal-wait deadline. Nothing was applied, so a forwarder tries the shard's next replica.
    /// </summary>
    public const string NotServing = "X-CausalKv-Not-Serving";

    /// <summary>
    /// On a data answer: the milliseconds the replica held the request in a causal wait before it answered (absent when
    /// it answered at once). Clients count and time causal waits by it.
    /// </summary>
    public const string CausalWait = "X-CausalKv-Waited-Ms";

    /// <summary>On a node's data answer: the epoch of the view it answered under. A client routing by an older view refreshes it.</summary>
    public const string Epoch = "X-CausalKv-Epoch";
}
