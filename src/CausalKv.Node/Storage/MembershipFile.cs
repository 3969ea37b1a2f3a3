using System.Text.Json;
using System.Text.Json.Serialization;
using CausalKv.Causality;
using CausalKv.Sharding;

namespace CausalKv.Node.Storage;

/// <summary>What a node remembers across a restart about its place in the cluster.</summary>
/// <param name="View">the view it last installed (null: none yet)</param>
/// <param name="Fence">the keys it may not answer "absent" for yet, and the handoff reports it heard</param>
/// <param name="CatchUpFrom">the peers it must catch up with before it answers (empty: it has caught up)</param>
/// <param name="Incarnation">the highest incarnation it started: kept here too, because a store set aside as corrupt
/// takes the origins it wrote with along, and a clock set back could then hand out one of them again</param>
/// <param name="Handoff">the handoff of <paramref name="View"/>'s change that is not finished yet (null: none owed)</param>
/// <param name="Promises">the views it promised (<c>POST /view/prepare</c>) above <paramref name="View"/>'s epoch, one
/// layout per epoch, and their floor (null: none): kept across a restart, or a restarted node could promise one of those
/// epochs to another layout (<see cref="ViewPromiseDecision"/>)</param>
/// <param name="Departed">nodes its views left out, at their last address, while its fence waits for them
/// (<see cref="DepartedNodes.Carry"/>; null: none): <c>GET /view</c> names them, so a reconciler that never saw them
/// leave still sends them the view that hands their keys off</param>
public sealed record MembershipRecord(ShardView? View, HandoffFenceState Fence, IReadOnlySet<int> CatchUpFrom, long Incarnation = 0,
    OwedHandoff? Handoff = null, ViewPromises? Promises = null, IReadOnlyList<DepartedNode>? Departed = null)
{
    public ViewPromises Promises { get; init; } = Promises ?? ViewPromises.None;

    public IReadOnlyList<DepartedNode> Departed { get; init; } = Departed ?? [];

    public static readonly MembershipRecord Empty = new(null, HandoffFenceState.None, new HashSet<int>());
}

/// <summary>
/// A view change whose handoff this node has not finished: what it takes to plan that handoff again after a restart
/// (<see cref="HandoffPlan.Create"/> from <paramref name="OldView"/> to the record's view), and how far it got. Other
/// shards' fences wait for this node's "done" reports, so a node that crashed in the middle of its handoff, or gave
/// up on a shard at the deadline, must send them later; nobody else can.
/// </summary>
/// <param name="OldView">the view the node changed from</param>
/// <param name="CatchingUpFrom">the peers it was still catching up from when it changed</param>
/// <param name="SourceStable">the stable frontier of the shard it left, as it knew it then (null: unknown)</param>
/// <param name="Owed">the shards still owed its "done" (<see cref="HandoffPlan.AnnounceTo"/>, less those that took it)</param>
/// <param name="AdoptedAs">the writes the keys it adopted were imported as (null: not imported yet); a second run
/// names them again rather than importing the keys again</param>
/// <param name="Awaits">the nodes whose keys were still on their way to the node under an earlier view when it changed
/// (<see cref="HandoffFenceState.AwaitedBefore"/>), taken before the new view's fence replaced that wait; its reports
/// name them (<see cref="HandoffReport.Awaits"/>)</param>
public sealed record OwedHandoff(ShardView? OldView, IReadOnlySet<int> CatchingUpFrom, Frontier? SourceStable,
    IReadOnlySet<string> Owed, Frontier? AdoptedAs = null, IReadOnlySet<int>? Awaits = null)
{
    /// <summary>
    /// What a view change planned as <paramref name="plan"/> owes: its own reports, and those an earlier view change
    /// still owed (<paramref name="stillOwed"/>) to shards that remain in the new view. Null when it owes none.
    /// </summary>
    /// <remarks>
    /// A view that replaces one whose reports did not all go out (the node restarted, or a shard did not answer) must
    /// not drop them: the replicas of those shards fence on this node until they hear it. The new view's handoff goes
    /// over the whole store, so its report stands for the earlier one (<see cref="HandoffFenceState.Report"/>), even
    /// when this node was in no shard under the view it leaves. A shard this node now joins is not told the earlier
    /// report: its replicas wait for keys that this node keeps, and must not hear "done" for them without the writes
    /// they became; they hear this view's own report, which names those writes (<see cref="HandoffPlan.AnnounceTo"/>).
    /// </remarks>
    public static OwedHandoff? For(HandoffPlan plan, IReadOnlySet<int> catchingUpFrom, Frontier? sourceStable,
        IEnumerable<string>? stillOwed = null, IReadOnlySet<int>? awaits = null)
    {
        var owed = plan.AnnounceTo.ToHashSet(StringComparer.Ordinal);
        foreach (var shard in stillOwed ?? [])
            if (plan.NewView.ShardNames.Contains(shard) && !string.Equals(shard, plan.NewShard, StringComparison.Ordinal)) owed.Add(shard);
        return owed.Count == 0 ? null : new OwedHandoff(plan.OldView, catchingUpFrom, sourceStable, owed, Awaits: awaits is { Count: > 0 } ? awaits : null);
    }

    /// <summary>The plan it was made from, again: the same old view, new view and catch-up give the same plan.</summary>
    public HandoffPlan Plan(ShardView view, int nodeId) => HandoffPlan.Create(OldView, view, nodeId, CatchingUpFrom);
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

    /// <summary>What later saves start from: the file's record, or without a data directory the one kept in memory.</summary>
    public MembershipRecord Current
    {
        get { lock (_gate) return _record; }
    }

    /// <summary>
    /// Records an installed view; the promises at or below its epoch are spent with it, and the nodes it leaves out of
    /// the view before are kept while the fence waits for them (<see cref="DepartedNodes.Carry"/>).
    /// </summary>
    public void SaveView(ShardView view, HandoffFenceState fence, IReadOnlySet<int> catchUpFrom, OwedHandoff? handoff = null) =>
        Save(r => r with
        {
            View = view, Fence = fence, CatchUpFrom = catchUpFrom, Handoff = handoff, Promises = r.Promises.Above(view.Epoch),
            Departed = DepartedNodes.Carry(r.View, view, r.Departed, fence.Awaited),
        });

    /// <summary>
    /// Records the promise of <paramref name="promised"/> (its epoch and layout) before the node answers it, beside the
    /// promises of other epochs still above the installed view (<see cref="ViewPromises.With"/>: the highest
    /// <see cref="ViewPromises.MaxCount"/> are kept).
    /// </summary>
    public void SavePromise(ShardView promised) =>
        Save(r => r with { Promises = r.Promises.Above(r.View?.Epoch ?? 0).With(promised) });

    /// <summary>The handoff <paramref name="epoch"/>'s change owes, while the record is still at that epoch (null otherwise).</summary>
    public OwedHandoff? OwedFor(long epoch)
    {
        var record = Current;
        return record.View?.Epoch == epoch ? record.Handoff : null;
    }

    /// <summary>The keys adopted in <paramref name="epoch"/>'s change were imported as <paramref name="adoptedAs"/>.</summary>
    public void SaveAdopted(long epoch, Frontier adoptedAs) =>
        Save(r => r.View?.Epoch == epoch && r.Handoff is { } h ? r with { Handoff = h with { AdoptedAs = adoptedAs } } : r);

    /// <summary>A replica of <paramref name="shard"/> took this node's "done" for <paramref name="epoch"/>; the last one ends what is owed.</summary>
    public void SaveReported(long epoch, string shard) =>
        Save(r =>
        {
            if (r.View?.Epoch != epoch || r.Handoff is not { } h || !h.Owed.Contains(shard)) return r;
            var owed = h.Owed.Where(s => !string.Equals(s, shard, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
            return r with { Handoff = owed.Count == 0 ? null : h with { Owed = owed } };
        });

    public void SaveFence(HandoffFenceState fence) => Save(r => r with { Fence = fence });

    public void SaveCatchUp(IReadOnlySet<int> catchUpFrom) => Save(r => r with { CatchUpFrom = catchUpFrom });

    /// <summary>Records that the node started <paramref name="origin"/>'s incarnation (keeps the highest).</summary>
    public void SaveIncarnation(long origin) =>
        Save(r => r with { Incarnation = Math.Max(r.Incarnation, OriginId.IncarnationOf(origin)) });

    private void Save(Func<MembershipRecord, MembershipRecord> change)
    {
        lock (_gate)
        {
            var before = _record;
            _record = change(before);
            if (_path is null || ReferenceEquals(before, _record)) return;
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
    public OwedJson? Handoff { get; set; }
    public List<PromiseJson> Promises { get; set; } = [];
    public long PromiseFloor { get; set; }
    public List<DepartedJson>? Departed { get; set; }

    public static MembershipJson From(MembershipRecord record) => new()
    {
        Promises = record.Promises.Views.Select(v => new PromiseJson { Epoch = v.Epoch, View = Layout(v) }).ToList(),
        PromiseFloor = record.Promises.Floor,
        Incarnation = record.Incarnation,
        Handoff = record.Handoff is { } h ? OwedJson.From(h) : null,
        Epoch = record.View?.Epoch ?? 0,
        View = Layout(record.View),
        Fence = FenceJson.From(record.Fence),
        CatchUpFrom = record.CatchUpFrom.Order().ToList(),
        Departed = record.Departed.Count == 0 ? null
            : record.Departed.Select(d => new DepartedJson { Id = d.Node.Id, Address = d.Node.Address, LeftAt = d.LeftAt }).ToList(),
    };

    public MembershipRecord ToRecord()
    {
        var view = ViewOf(Epoch, View, "view");
        return new MembershipRecord(view, Fence.ToState(), CatchUpFrom.ToHashSet(), Incarnation, view is null ? null : Handoff?.ToOwed(),
            ReadPromises(), ReadDeparted());
    }

    private List<DepartedNode> ReadDeparted()
    {
        var departed = new List<DepartedNode>();
        foreach (var d in Departed ?? [])
        {
            if (NodeAddress.Error(d.Address) is { } error)
                throw new InvalidDataException($"A departed node in {MembershipFile.FileName} has no valid address: {error}");
            departed.Add(new DepartedNode(new ViewNode(d.Address!, d.Id), d.LeftAt));
        }
        return departed;
    }

    private ViewPromises ReadPromises()
    {
        try
        {
            var views = (Promises ?? []).Select(p =>
                ViewOf(p.Epoch, p.View ?? throw new InvalidDataException($"A promise in {MembershipFile.FileName} names no view."), "promised view")!);
            return ViewPromises.From(views, PromiseFloor);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The promised views in {MembershipFile.FileName} are not valid: {e.Message}", e);
        }
    }

    internal static Dictionary<string, List<ViewNode>>? Layout(ShardView? view) =>
        view?.ShardNames.ToDictionary(s => s, s => view.NodesOf(s).ToList(), StringComparer.Ordinal);

    internal static ShardView? ViewOf(long epoch, Dictionary<string, List<ViewNode>>? layout, string what)
    {
        if (layout is null) return null;
        if (!ShardView.TryCreate(epoch, layout.ToDictionary(s => s.Key, s => (IReadOnlyList<ViewNode>)s.Value, StringComparer.Ordinal), out var view, out var error))
            throw new InvalidDataException($"The {what} in {MembershipFile.FileName} is not valid: {error}");
        return view;
    }
}

internal sealed class DepartedJson
{
    public int Id { get; set; }
    public string? Address { get; set; }
    public long LeftAt { get; set; }
}

internal sealed class PromiseJson
{
    public long Epoch { get; set; }
    public Dictionary<string, List<ViewNode>>? View { get; set; }
}

internal sealed class OwedJson
{
    public long OldEpoch { get; set; }
    public Dictionary<string, List<ViewNode>>? OldView { get; set; }
    public List<int> CatchingUpFrom { get; set; } = [];
    public Frontier? SourceStable { get; set; }
    public List<string> Owed { get; set; } = [];
    public Frontier? AdoptedAs { get; set; }
    public List<int>? Awaits { get; set; }

    public static OwedJson From(OwedHandoff owed) => new()
    {
        OldEpoch = owed.OldView?.Epoch ?? 0,
        OldView = MembershipJson.Layout(owed.OldView),
        CatchingUpFrom = owed.CatchingUpFrom.Order().ToList(),
        SourceStable = owed.SourceStable,
        Owed = owed.Owed.Order(StringComparer.Ordinal).ToList(),
        AdoptedAs = owed.AdoptedAs,
        Awaits = owed.Awaits?.Order().ToList(),
    };

    public OwedHandoff ToOwed() => new(MembershipJson.ViewOf(OldEpoch, OldView, "previous view"), CatchingUpFrom.ToHashSet(),
        SourceStable, Owed.ToHashSet(StringComparer.Ordinal), AdoptedAs, Awaits?.ToHashSet());
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
                Requires = p.Requires,
                Superseded = p.Superseded is null ? null : new Dictionary<int, long>(p.Superseded),
                Inherited = p.Inherited?.Order().ToList(),
            }).ToList(),
            Reports = l.Reports.ToList(),
            Shard = l.Shard,
            Exempt = l.Exempt?.Order().ToList(),
        }).ToList(),
        Early = state.Early.Select(e => new EarlyJson { Epoch = e.Epoch, Report = e.Report }).ToList(),
    };

    public HandoffFenceState ToState() => HandoffFenceState.Restore(
        Layers.Select(l => new HandoffFenceLayer(l.Epoch, new HashRing(l.OldShards, l.VirtualNodesPerShard),
            l.Pending.Select(p => new PendingHandoff(p.Shard, p.Outstanding.ToHashSet(), p.Requires, p.Superseded, p.Inherited?.ToHashSet())).ToList(),
            l.Reports, l.Shard, l.Exempt?.ToHashSet())),
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
    public List<int>? Exempt { get; set; }
}

internal sealed class PendingJson
{
    public string Shard { get; set; } = "";
    public List<int> Outstanding { get; set; } = [];
    public Frontier Requires { get; set; }
    public Dictionary<int, long>? Superseded { get; set; }
    public List<int>? Inherited { get; set; }
}

internal sealed class EarlyJson
{
    public long Epoch { get; set; }
    public HandoffReport Report { get; set; } = new("", 0, Frontier.Empty);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MembershipJson))]
internal sealed partial class MembershipJsonContext : JsonSerializerContext;
