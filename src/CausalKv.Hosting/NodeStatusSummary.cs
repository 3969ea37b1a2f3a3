using System.Text.Json;

namespace CausalKv.Hosting;

/// <summary>
/// What the dashboard shows of a node, read from its <c>GET /admin/status</c>: its shard and view epoch, how many
/// keys it holds, and how many writes its peers have applied that it has not (per origin, the highest frontier a peer
/// reported above its own).
/// </summary>
public sealed record NodeStatusSummary(string? Shard, long Epoch, int Keys, long MissingFromPeers, bool CaughtUp, int[] Blocked, int[] Unreachable, int Pid)
{
    public static NodeStatusSummary Parse(JsonElement status)
    {
        var applied = Frontier(status, "applied");
        var missing = new Dictionary<string, long>(StringComparer.Ordinal);
        var unreachable = new List<int>();
        if (status.TryGetProperty("peers", out var peers) && peers.ValueKind == JsonValueKind.Array)
        {
            foreach (var peer in peers.EnumerateArray())
            {
                if (peer.TryGetProperty("reachable", out var r) && r.ValueKind == JsonValueKind.False && peer.TryGetProperty("id", out var pid))
                    unreachable.Add(pid.GetInt32());
                foreach (var (origin, seq) in Frontier(peer, "applied"))
                {
                    var ahead = seq - applied.GetValueOrDefault(origin);
                    if (ahead > missing.GetValueOrDefault(origin)) missing[origin] = ahead;
                }
            }
        }
        return new NodeStatusSummary(
            status.TryGetProperty("shard", out var shard) && shard.ValueKind == JsonValueKind.String ? shard.GetString() : null,
            status.TryGetProperty("epoch", out var epoch) ? epoch.GetInt64() : 0,
            status.TryGetProperty("keys", out var keys) ? keys.GetInt32() : 0,
            missing.Values.Sum(),
            status.TryGetProperty("caughtUp", out var caught) && caught.ValueKind == JsonValueKind.True,
            status.TryGetProperty("blocked", out var blocked) && blocked.ValueKind == JsonValueKind.Array ? blocked.EnumerateArray().Select(b => b.GetInt32()).ToArray() : [],
            [.. unreachable.Order()],
            status.TryGetProperty("pid", out var p) ? p.GetInt32() : 0);
    }

    private static Dictionary<string, long> Frontier(JsonElement element, string name)
    {
        var frontier = new Dictionary<string, long>(StringComparer.Ordinal);
        if (element.TryGetProperty(name, out var f) && f.ValueKind == JsonValueKind.Object)
            foreach (var entry in f.EnumerateObject()) frontier[entry.Name] = entry.Value.GetInt64();
        return frontier;
    }
}
