namespace CausalKv.Client;

/// <summary>Where a <see cref="CausalKvClient"/> sends its requests.</summary>
public enum CausalKvRouting
{
    /// <summary>
    /// Straight to a replica of the key's shard: the client learns the view from the endpoints, hashes keys with the
    /// nodes' ring and skips the router's hop. Needs every node's address (the view's) to be reachable from the client.
    /// </summary>
    Direct,

    /// <summary>Everything to the endpoints (routers), which route each key themselves: for clients that cannot reach the nodes.</summary>
    ViaRouter,
}
