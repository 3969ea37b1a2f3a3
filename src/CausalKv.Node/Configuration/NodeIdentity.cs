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
        // As a StatefulSet names its pods: kv-3 is node 3, and stays node 3 when it comes back at another address.
        var host = configuration["HOSTNAME"] is { Length: > 0 } named ? named : System.Net.Dns.GetHostName();
        id ??= OrdinalOf(host);
        NodeId = id ?? throw new InvalidOperationException(
            $"No node id: set the NODE_IDENTIFIER environment variable or CausalKv:NodeId, or run on a host whose name ends in -<number> (this one is '{host}').");
        if (NodeId < 0) throw new InvalidOperationException("The node id must not be negative.");
        ClusterKey = string.IsNullOrEmpty(o.ClusterKey) ? null : o.ClusterKey;
        Metadata = CausalMetadataCodec.ForCluster(ClusterKey, o.SignMetadata);
    }

    public int NodeId { get; }

    /// <summary>
    /// The ordinal a host name ends in (<c>kv-3</c> and <c>kv-3.kv.default.svc.cluster.local</c> are 3), or null when its
    /// first label does not end in <c>-</c> and digits.
    /// </summary>
    public static int? OrdinalOf(string? hostName)
    {
        if (string.IsNullOrWhiteSpace(hostName)) return null;
        var label = hostName.Trim().Split('.')[0];
        var dash = label.LastIndexOf('-');
        if (dash <= 0 || dash == label.Length - 1) return null;
        var digits = label.AsSpan(dash + 1);
        foreach (var c in digits) if (!char.IsAsciiDigit(c)) return null;
        return int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ordinal) ? ordinal : null;
    }

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
