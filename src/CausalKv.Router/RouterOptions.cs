using System.ComponentModel.DataAnnotations;

namespace CausalKv.Router;

/// <summary>
/// The router's settings. Settings it shares with the nodes (the cluster key, the value limit) are read from
/// <c>CausalKv</c>; its own from <c>CausalKv:Router</c>, which wins where both say something. Defaults are written here.
/// </summary>
internal sealed class RouterOptions
{
    public const string SharedSection = "CausalKv";
    public const string Section = "CausalKv:Router";

    /// <summary>Sent as <c>X-CausalKv-Key</c> on <c>PUT /view</c> to the nodes, and demanded from clients of the router's <c>PUT /view</c>.</summary>
    public string? ClusterKey { get; set; }

    /// <summary>As on the nodes (<c>CausalKv:SignMetadata</c>): the router checks and signs the metadata of <c>GET /data</c> it merges.</summary>
    public bool SignMetadata { get; set; } = true;

    /// <summary>Node URLs to learn the view from when no service discovery entries are configured (standalone use).</summary>
    public List<string> Seeds { get; set; } = [];

    /// <summary>
    /// As on the nodes: request bodies may be 6 bytes per byte of value (every legal JSON spelling of a value of this
    /// size, <see cref="CausalKv.Protocol.BodyLimits"/>) plus 1 MiB of metadata; larger ones are refused before they are read whole.
    /// </summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxValueBytes { get; set; } = 1024 * 1024;

    /// <summary>How often every known node is asked for its view; a view change anywhere is followed within about this long.</summary>
    public TimeSpan ViewPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A poll that has not answered in this time counts as no answer (kept under the poll interval).</summary>
    public TimeSpan ViewPollTimeout { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Active health: <c>GET /health</c> on every replica this often; 503 or no answer within the timeout is unhealthy.</summary>
    public TimeSpan HealthProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan HealthProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// A replica that answers no probe at all (not even with a refusal) for this long is taken to be cut off, and the
    /// requests in flight to it are given up rather than left to hang until <see cref="ForwardActivityTimeout"/>.
    /// Several probe intervals: a loaded but healthy node can miss one probe, and giving up its requests fails writes.
    /// </summary>
    public TimeSpan CutInFlightAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Passive health: a replica whose forward failed or timed out is skipped for this long.</summary>
    public TimeSpan PassiveHealthPenalty { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A cut link drops packets rather than refusing them, so connecting must give up quickly and try the next replica.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Longest silence from a replica once a request was sent. Keep it above the nodes' causal-wait deadline
    /// (CausalKv:CausalWaitDeadline, 30 s by default) so a waiting read gets the node's own answer; it also bounds how
    /// long a request sent just before its replica was cut off hangs (it cannot be re-sent: it may have been applied).
    /// </summary>
    public TimeSpan ForwardActivityTimeout { get; set; } = TimeSpan.FromSeconds(40);

    /// <summary>How long a request keeps retrying a shard none of whose replicas can be reached before it gets a 503.</summary>
    public TimeSpan UnreachableDeadline { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Pause between two rounds over a shard's unreachable replicas.</summary>
    public TimeSpan RetryPause { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a node may take to install a view broadcast by <c>PUT /view</c>, handoff included.</summary>
    public TimeSpan ViewChangeTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Before a view is sent to any node, every node of the old and the new view must answer <c>GET /ping</c> within
    /// this long (connecting gives up sooner, at <see cref="ConnectTimeout"/>); otherwise the view is refused.
    /// </summary>
    public TimeSpan ViewProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs the router's request handling on the socket threads instead of handing every step to the thread pool
    /// (Kestrel's UnsafePreferInlineScheduling plus inline socket completions for the connections to the nodes). Safe
    /// here because nothing on the request path blocks; read once at start, before any socket exists.
    /// </summary>
    public bool InlineIo { get; set; } = true;

    /// <summary>As on the nodes (<c>CausalKv:MaxPageBytes</c>): a page of <c>GET /data?limit=</c> asks no further shard once it holds this many bytes of keys and values.</summary>
    [Range(1, 256 * 1024 * 1024)]
    public int MaxPageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>As on the nodes: <c>GET /data</c> without paging answers at most this many keys of the whole cluster.</summary>
    [Range(1, 1_000_000)]
    public int MaxUnpagedItems { get; set; } = 10_000;

    /// <summary>... and at most this many UTF-8 bytes of keys and values.</summary>
    [Range(1, 1024 * 1024 * 1024)]
    public int MaxUnpagedBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>The request body limit that follows from <see cref="MaxValueBytes"/>, the same as the nodes'.</summary>
    public long MaxBodyBytes => CausalKv.Protocol.BodyLimits.MaxBodyBytes(MaxValueBytes, 1024 * 1024);

    internal bool TimingsArePositive() =>
        new[] { ViewPollInterval, ViewPollTimeout, HealthProbeInterval, HealthProbeTimeout, CutInFlightAfter, PassiveHealthPenalty,
                ConnectTimeout, ForwardActivityTimeout, UnreachableDeadline, RetryPause, ViewChangeTimeout, ViewProbeTimeout }
            .All(t => t > TimeSpan.Zero);
}
