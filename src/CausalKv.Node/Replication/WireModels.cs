using System.Text.Json.Serialization;
using CausalKv.Causality;
using CausalKv.Protocol;

namespace CausalKv.Node.Replication;

// Node-to-node messages. Clocks travel flattened as [origin, seq, origin, seq, ...].

public sealed class ReplicationMessage
{
    public int From { get; set; }
    public long Epoch { get; set; }
    public List<WireRange> Ranges { get; set; } = [];
    public List<WireVersion> Versions { get; set; } = [];
    /// <summary>Set on the last page of a full-state transfer: the frontier the pages include.</summary>
    public Frontier? SnapshotApplied { get; set; }
    /// <summary>The sender's origin when it made the batch (0: not told, as from a node of an earlier version).</summary>
    public long Origin { get; set; }
    /// <summary>
    /// The sender's frontier when it made the batch: what it holds, told with the push so that its peer learns at once
    /// that the writes it just applied are held by both, without waiting for its own next push's acknowledgement.
    /// </summary>
    public Frontier? Applied { get; set; }
}

public sealed class WireRange
{
    public long Origin { get; set; }
    public long After { get; set; }
    /// <summary>Keys of the writes After+1, After+2, ...</summary>
    public List<string> Keys { get; set; } = [];
}

public sealed class ReplicationAck
{
    /// <summary>The answering node's current origin: a new one means it restarted and its frontier may have shrunk.</summary>
    public long Origin { get; set; }
    public Frontier Applied { get; set; }
}

/// <summary>A gossip digest: the sender's frontier, O(origins) bytes however many keys it holds.</summary>
public sealed class GossipDigest
{
    public int From { get; set; }
    public long Epoch { get; set; }
    public long Origin { get; set; }
    public Frontier Applied { get; set; }
    /// <summary>True while the sender may lack what its shard holds: new to it and not caught up, or keys still on their way to it.</summary>
    public bool? CatchingUp { get; set; }
    /// <summary>Writes of other shards' origins that every replica of this shard holds (from completed handoffs).</summary>
    public Frontier? Foreign { get; set; }
    /// <summary>Handoffs reported complete (each for its <see cref="WireHandoffReport.Epoch"/>, or else for <see cref="FenceEpoch"/>), so replicas they missed learn them too.</summary>
    public long FenceEpoch { get; set; }
    public List<WireHandoffReport>? HandoffReports { get; set; }
}

/// <summary>A node of an old shard finished its handoff; a replica may lift its fence once it holds <see cref="Requires"/>.</summary>
public sealed class WireHandoffReport
{
    /// <summary>The view change the report belongs to; absent for the digest's <see cref="GossipDigest.FenceEpoch"/>.</summary>
    public long? Epoch { get; set; }
    public string Shard { get; set; } = "";
    public int Node { get; set; }
    public Frontier Requires { get; set; }
    /// <summary>The shard the reported handoff went to.</summary>
    public string? To { get; set; }
    /// <summary>The nodes whose keys the sender still awaited (<see cref="CausalKv.Sharding.HandoffReport.Awaits"/>).</summary>
    public List<int>? Awaits { get; set; }

    public static WireHandoffReport From(CausalKv.Sharding.HandoffReport r, long? epoch = null) =>
        new() { Epoch = epoch, Shard = r.Shard, Node = r.Node, Requires = r.Requires, To = r.To, Awaits = r.Awaits?.ToList() };

    public CausalKv.Sharding.HandoffReport ToReport() => new(Shard, Node, Requires, To, Awaits);
}

/// <summary>A shard's stable frontier, as one of its replicas knows it: what every replica of the shard holds.</summary>
public sealed class ShardFrontier
{
    public string? Shard { get; set; }
    public long Epoch { get; set; }
    public Frontier Stable { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ReplicationMessage))]
[JsonSerializable(typeof(ReplicationAck))]
[JsonSerializable(typeof(GossipDigest))]
[JsonSerializable(typeof(ShardFrontier))]
internal sealed partial class WireJsonContext : JsonSerializerContext;

public sealed class HandoffMessage
{
    public int From { get; set; }
    public string FromShard { get; set; } = "";
    public long Epoch { get; set; }
    public List<WireVersion> Versions { get; set; } = [];
    /// <summary>Set on the last message of a handoff: the sender has nothing more for the receiver's shard.</summary>
    public bool Complete { get; set; }
    /// <summary>The shard the sender hands these keys to (its receiver's shard in the sender's view).</summary>
    public string? ToShard { get; set; }
    /// <summary>The old shard's stable frontier when the handoff started (see ForeignFrontier).</summary>
    public Frontier? SourceStable { get; set; }
    /// <summary>
    /// The writes the keys of this handoff were imported as so far (per importing replica's origin, the last
    /// sequence number): a replica lifts its fence for the sender's shard once it holds them.
    /// </summary>
    public Frontier? Requires { get; set; }
    /// <summary>
    /// On a complete handoff: the nodes whose own handoffs to the sender's shard it had not heard complete when it went
    /// over its store. Keys on their way from them reach the receiver's shard from them, and its fence waits for them.
    /// </summary>
    public List<int>? Awaits { get; set; }
}

public sealed class HandoffAck
{
    public int Node { get; set; }
    public long Epoch { get; set; }
    public int Imported { get; set; }
    /// <summary>The importing replica's origin and the last sequence number its import used (0 when it imported nothing).</summary>
    public long Origin { get; set; }
    public long Last { get; set; }
    /// <summary>
    /// The receiver holds a newer view than the handoff's in which it is no longer in the shard the handoff was sent to:
    /// it took the keys (its sweep passes them on), but a report it took reaches nobody who waits for it.
    /// </summary>
    public bool LeftShard { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(HandoffMessage))]
[JsonSerializable(typeof(HandoffAck))]
internal sealed partial class HandoffJsonContext : JsonSerializerContext;
