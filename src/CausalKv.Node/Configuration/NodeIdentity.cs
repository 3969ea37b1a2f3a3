using CausalKv.Causality;
using CausalKv.Protocol;
using Microsoft.Extensions.Options;

namespace CausalKv.Node.Configuration;

/// <summary>Who this process is: node id, the cluster's metadata id, and the cluster key check.</summary>
public sealed class NodeIdentity
{
    public NodeIdentity(IOptions<NodeOptions> options, IConfiguration configuration)
    {
        var o = options.Value;
        var id = o.NodeId;
        if (id is null && int.TryParse(configuration["NODE_IDENTIFIER"], out var fromEnv)) id = fromEnv;
        NodeId = id ?? throw new InvalidOperationException(
            "No node id: set the NODE_IDENTIFIER environment variable or CausalKv:NodeId.");
        if (NodeId < 0) throw new InvalidOperationException("The node id must not be negative.");
        ClusterKey = string.IsNullOrEmpty(o.ClusterKey) ? null : o.ClusterKey;
        Metadata = CausalMetadataCodec.ForCluster(ClusterKey, o.SignMetadata);
    }

    public int NodeId { get; }

    public string? ClusterKey { get; }

    public CausalMetadataCodec Metadata { get; }

    public const string ClusterKeyHeader = ProtocolHeaders.ClusterKey;

    public const string FromNodeHeader = ProtocolHeaders.FromNode;

    public bool IsAuthorized(HttpRequest request)
    {
        if (ClusterKey is null) return true;
        var given = request.Headers[ClusterKeyHeader].ToString();
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(ClusterKey));
    }
}
