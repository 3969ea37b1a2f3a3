using System.ComponentModel.DataAnnotations;

namespace CausalKv.Node.Configuration;

/// <summary>Settings bound from the <c>CausalKv</c> configuration section; defaults are written here.</summary>
public sealed class NodeOptions
{
    public const string Section = "CausalKv";

    /// <summary>
    /// This node's cluster-unique id; falls back to the <c>NODE_IDENTIFIER</c> environment variable, then to the ordinal
    /// its host name ends in (<c>HOSTNAME</c>, else the machine's name: <c>kv-3</c> is node 3).
    /// </summary>
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

    /// <summary>
    /// The most dependencies a request's causal-metadata may carry (413 beyond). Only a session that wrote this many
    /// keys while cut off from their other replicas carries so many: pruning drops what every replica holds.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxMetadataDependencies { get; set; } = CausalKv.Causality.MetadataLimits.Default.MaxDependencies;

    /// <summary>The most bytes of JSON a request's causal-metadata may take (413 beyond).</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxMetadataBytes { get; set; } = CausalKv.Causality.MetadataLimits.Default.MaxBytes;

    /// <summary>
    /// Answers, and the versions a write stores, drop the dependencies every replica of their key's shard holds. Turn
    /// off only to measure what pruning saves, or to check that causality does not rest on it: sessions then carry
    /// every dependency they ever observed.
    /// </summary>
    public bool PruneMetadata { get; set; } = true;

    /// <summary>How long a read may wait for a write it depends on before it gets a 503.</summary>
    public TimeSpan CausalWaitDeadline { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan GossipInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Connect timeout towards peers: a cut link hangs, it does not refuse.</summary>
    public TimeSpan PeerConnectTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan PeerRequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On shutdown, how long the node waits for the replicas it is in touch with to acknowledge its own writes before
    /// its replication stops (within the host's shutdown timeout, 30 s by default).
    /// </summary>
    public TimeSpan ShutdownDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [Range(1, 1_000_000)]
    public int ReplicationBatchEntries { get; set; } = 4096;

    /// <summary>
    /// What the replication log (the keys of the writes a peer may still lack, never their values) may take in memory.
    /// Past it the oldest entries go; a peer that still lacked them, when it is back, gets the versions of the store with
    /// a dot above its frontier (a scan) instead. So a peer away for any time costs its replicas bounded memory.
    /// </summary>
    [Range(1, 64 * 1024)]
    public int ReplicationLogMegabytes { get; set; } = 32;

    /// <summary>
    /// Where the node keeps its state (the storage engine's files in <c>store/</c>, its view in <c>membership.json</c>);
    /// with it, acknowledged writes survive a crash of the process. None keeps everything in memory only.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// Where versions live when there is a data directory: <see cref="StorageKind.RocksDb"/> (the default) or
    /// <see cref="StorageKind.Memory"/> (nothing survives the process; for tests and benchmarks).
    /// </summary>
    public StorageKind Storage { get; set; } = StorageKind.RocksDb;

    /// <summary>
    /// What an acknowledged write survives: <see cref="Durability.Process"/> (a crash of the process, not a power
    /// loss) or <see cref="Durability.Fsync"/> (a power loss too; concurrent writes share one fsync).
    /// </summary>
    public Durability Durability { get; set; } = Durability.Process;

    /// <summary>The storage engine's block cache: what bounds the memory the data takes, not the amount of data.</summary>
    [Range(1, 1024 * 1024)]
    public int CacheMegabytes { get; set; } = 64;

    /// <summary>Enables <c>PUT /admin/faults</c>, which makes this node drop traffic to and from given nodes.</summary>
    public bool EnableFaultInjection { get; set; }

    /// <summary>
    /// A page of <c>GET /data?limit=</c> ends before its keys and values pass this many UTF-8 bytes (it always holds
    /// one key): with <c>limit</c>, what bounds the memory one listing request takes.
    /// </summary>
    [Range(1, 256 * 1024 * 1024)]
    public int MaxPageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary><c>GET /data</c> without <c>limit</c>, <c>cursor</c> or <c>prefix</c> answers at most this many keys; beyond, a 400 says to page.</summary>
    [Range(1, 1_000_000)]
    public int MaxUnpagedItems { get; set; } = 10_000;

    /// <summary>... and at most this many UTF-8 bytes of keys and values.</summary>
    [Range(1, 1024 * 1024 * 1024)]
    public int MaxUnpagedBytes { get; set; } = 8 * 1024 * 1024;
}

/// <summary>Where a node keeps its versions (<c>CausalKv:Storage</c>).</summary>
public enum StorageKind
{
    /// <summary>The embedded RocksDB engine in the data directory.</summary>
    RocksDb,

    /// <summary>Memory only, also with a data directory: nothing survives the process.</summary>
    Memory,
}
