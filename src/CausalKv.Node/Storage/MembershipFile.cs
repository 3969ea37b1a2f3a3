using System.Text.Json;
using System.Text.Json.Serialization;
using CausalKv.Sharding;

namespace CausalKv.Node.Storage;

/// <summary>What a node remembers across a restart about its place in the cluster.</summary>
/// <param name="View">the view it last installed (null: none yet)</param>
/// <param name="Fence">the keys it may not answer "absent" for yet, and the handoff reports it heard</param>
/// <param name="CatchUpFrom">the peers it must catch up with before it answers (empty: it has caught up)</param>
/// <param name="Incarnation">the highest incarnation it started: kept here too, because a store set aside as corrupt
/// takes the origins it wrote with along, and a clock set back could then hand out one of them again</param>
public sealed record MembershipRecord(ShardView? View, HandoffFenceState Fence, IReadOnlySet<int> CatchUpFrom, long Incarnation = 0)
{
    public static readonly MembershipRecord Empty = new(null, HandoffFenceState.None, new HashSet<int>());
}

/// <summary>
/// Keeps <see cref="MembershipRecord"/> in <c>membership.json</c> beside the write-ahead log, so that a node restarted
/// in the middle of a view change resumes it: it keeps its view (the next one is planned from it), its handoff fence
/// (keys still on their way from their old shard stay fenced) and its catch-up (a replica new to its shard does not
/// answer before it holds what its shard holds). Without it a restarted node would take the next view as its first
/// and answer "absent" for keys that are still on their way. Each change replaces the file whole (written beside it,
/// then renamed), so a crash leaves the old record or the new one, never a mix. Without a data directory nothing is kept.
/// </summary>
public sealed class MembershipFile
{
    public const string FileName = "membership.json";

    private readonly object _gate = new();
    private readonly string? _path;
    private MembershipRecord _record = MembershipRecord.Empty;

    public MembershipFile(string? directory)
    {
        if (directory is not { Length: > 0 }) return;
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, FileName);
    }

    public bool Durable => _path is not null;

    /// <summary>What the file holds (<see cref="MembershipRecord.Empty"/> when there is none); also what later saves start from.</summary>
    /// <exception cref="InvalidDataException">the file exists but cannot be read: the node must not guess its place.</exception>
    public MembershipRecord Load()
    {
        if (_path is null || !File.Exists(_path)) return MembershipRecord.Empty;
        MembershipJson? json;
        try
        {
            json = JsonSerializer.Deserialize(File.ReadAllBytes(_path), MembershipJsonContext.Default.MembershipJson);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{_path} is not a membership record this node can read ({e.Message}). " +
                "Remove the file to start the node as new to the cluster; it then fetches its keys from its peers.", e);
        }
        var record = json?.ToRecord() ?? throw new InvalidDataException($"{_path} is empty.");
        lock (_gate) _record = record;
        return record;
    }

    public void SaveView(ShardView view, HandoffFenceState fence, IReadOnlySet<int> catchUpFrom) =>
        Save(r => r with { View = view, Fence = fence, CatchUpFrom = catchUpFrom });

    public void SaveFence(HandoffFenceState fence) => Save(r => r with { Fence = fence });

    public void SaveCatchUp(IReadOnlySet<int> catchUpFrom) => Save(r => r with { CatchUpFrom = catchUpFrom });

    /// <summary>Records that the node started <paramref name="origin"/>'s incarnation (keeps the highest).</summary>
    public void SaveIncarnation(long origin) =>
        Save(r => r with { Incarnation = Math.Max(r.Incarnation, CausalKv.Causality.OriginId.IncarnationOf(origin)) });

    private void Save(Func<MembershipRecord, MembershipRecord> change)
    {
        if (_path is null) return;
        lock (_gate)
        {
            _record = change(_record);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(MembershipJson.From(_record), MembershipJsonContext.Default.MembershipJson);
            var temp = _path + ".new";
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, _path, overwrite: true);
        }
    }
}

internal sealed class MembershipJson
{
    public long Epoch { get; set; }
    public Dictionary<string, List<ViewNode>>? View { get; set; }
    public FenceJson Fence { get; set; } = new();
    public List<int> CatchUpFrom { get; set; } = [];
    public long Incarnation { get; set; }

    public static MembershipJson From(MembershipRecord record) => new()
    {
        Incarnation = record.Incarnation,
        Epoch = record.View?.Epoch ?? 0,
        View = record.View?.ShardNames.ToDictionary(s => s, s => record.View.NodesOf(s).ToList(), StringComparer.Ordinal),
        Fence = FenceJson.From(record.Fence),
        CatchUpFrom = record.CatchUpFrom.Order().ToList(),
    };

    public MembershipRecord ToRecord()
    {
        ShardView? view = null;
        if (View is not null && !ShardView.TryCreate(Epoch, View.ToDictionary(s => s.Key, s => (IReadOnlyList<ViewNode>)s.Value, StringComparer.Ordinal), out view, out var error))
            throw new InvalidDataException($"The view in {MembershipFile.FileName} is not valid: {error}");
        return new MembershipRecord(view, Fence.ToState(), CatchUpFrom.ToHashSet(), Incarnation);
    }
}

internal sealed class FenceJson
{
    public List<LayerJson> Layers { get; set; } = [];
    public List<EarlyJson> Early { get; set; } = [];

    public static FenceJson From(HandoffFenceState state) => new()
    {
        Layers = state.Layers.Select(l => new LayerJson
        {
            Epoch = l.Epoch,
            OldShards = l.OldRing.Shards.ToList(),
            VirtualNodesPerShard = l.OldRing.VirtualNodesPerShard,
            Pending = l.Pending.Select(p => new PendingJson
            {
                Shard = p.Shard,
                Outstanding = p.Outstanding.Order().ToList(),
                Requires = new Dictionary<long, long>(p.Requires),
            }).ToList(),
            Reports = l.Reports.ToList(),
            Shard = l.Shard,
        }).ToList(),
        Early = state.Early.Select(e => new EarlyJson { Epoch = e.Epoch, Report = e.Report }).ToList(),
    };

    public HandoffFenceState ToState() => HandoffFenceState.Restore(
        Layers.Select(l => new HandoffFenceLayer(l.Epoch, new HashRing(l.OldShards, l.VirtualNodesPerShard),
            l.Pending.Select(p => new PendingHandoff(p.Shard, p.Outstanding.ToHashSet(), p.Requires)).ToList(), l.Reports, l.Shard)),
        Early.Select(e => (e.Epoch, e.Report)));
}

internal sealed class LayerJson
{
    public long Epoch { get; set; }
    public List<string> OldShards { get; set; } = [];
    public int VirtualNodesPerShard { get; set; }
    public List<PendingJson> Pending { get; set; } = [];
    public List<HandoffReport> Reports { get; set; } = [];
    public string? Shard { get; set; }
}

internal sealed class PendingJson
{
    public string Shard { get; set; } = "";
    public List<int> Outstanding { get; set; } = [];
    public Dictionary<long, long> Requires { get; set; } = [];
}

internal sealed class EarlyJson
{
    public long Epoch { get; set; }
    public HandoffReport Report { get; set; } = new("", 0, new Dictionary<long, long>());
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MembershipJson))]
internal sealed partial class MembershipJsonContext : JsonSerializerContext;
