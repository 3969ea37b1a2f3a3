using System.ComponentModel.DataAnnotations;

namespace CausalKv.Node.Hosting;

/// <summary>Settings bound from the <c>CausalKv</c> configuration section; defaults are written here.</summary>
public sealed class NodeOptions
{
    public const string Section = "CausalKv";

    /// <summary>This node's cluster-unique id; falls back to the <c>NODE_IDENTIFIER</c> environment variable.</summary>
    [Range(0, 4_000_000)]
    public int? NodeId { get; set; }

    /// <summary>Shared secret for node-to-node and cluster-changing endpoints; none disables the check (with a warning).</summary>
    public string? ClusterKey { get; set; }

    /// <summary>
    /// Sign causal metadata with a MAC keyed from the cluster key, and refuse metadata whose MAC does not match.
    /// Turn off only to measure what signing costs: unsigned metadata can be forged by any client.
    /// </summary>
    public bool SignMetadata { get; set; } = true;

    [Range(1, 64 * 1024 * 1024)]
    public int MaxValueBytes { get; set; } = 1024 * 1024;

    /// <summary>How long a read may wait for a write it depends on before it gets a 503.</summary>
    public TimeSpan CausalWaitDeadline { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan GossipInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Connect timeout towards peers: a cut link hangs, it does not refuse.</summary>
    public TimeSpan PeerConnectTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan PeerRequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    [Range(1, 1_000_000)]
    public int ReplicationBatchEntries { get; set; } = 4096;

    /// <summary>
    /// Where the write-ahead log lives; with it, acknowledged writes survive a
    /// crash of the process. None keeps everything in memory only.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>Enables <c>PUT /admin/faults</c>, which makes this node drop traffic to and from given nodes.</summary>
    public bool EnableFaultInjection { get; set; }
}
