using System.Text.Json;
using CausalKv.Protocol;

namespace CausalKv.Hosting;

/// <summary>
/// What the dashboard shows of a node, read from its <c>GET /admin/status</c>: its shard and view epoch, how many
/// keys it holds, and how many writes its peers have applied that it has not (per origin, the highest frontier a peer
/// reported above its own).
/// </summary>
public sealed record NodeStatusSummary(string? Shard, long Epoch, int Keys, long MissingFromPeers, bool CaughtUp, int[] Blocked, int[] Unreachable, int Pid)
{
    public static NodeStatusSummary Parse(JsonElement status) =>
        From(status.Deserialize(NodeStatusJsonContext.Default.NodeStatusReport)
            ?? throw new JsonException("A node's status is null."));

    internal static NodeStatusSummary From(NodeStatusReport status)
    {
        var applied = status.Applied ?? [];
        var missing = new Dictionary<string, long>(StringComparer.Ordinal);
        var unreachable = new List<int>();
        foreach (var peer in status.Peers ?? [])
        {
            if (!peer.Reachable) unreachable.Add(peer.Id);
            foreach (var (origin, seq) in peer.Applied ?? [])
            {
                var ahead = seq - applied.GetValueOrDefault(origin);
                if (ahead > missing.GetValueOrDefault(origin)) missing[origin] = ahead;
            }
        }
        return new NodeStatusSummary(status.Shard, status.Epoch, (int)Math.Min(status.Keys, int.MaxValue), missing.Values.Sum(),
            status.CaughtUp, status.Blocked ?? [], [.. unreachable.Order()], status.Pid);
    }
}
