
namespace CausalKv.Node.Telemetry;

/// <summary>
/// Every log event the node writes, with its id, name and level defined once. Ids are grouped by concept so a
/// filter on a range finds them all: 1xx start-up, 2xx faults, 3xx views and handoff, 4xx causal waits,
/// 5xx replication; 600 is a refused request (CausalKv.Http.RefusalAccounting, shared with the router).
/// </summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 100, EventName = "StorageOpened", Level = LogLevel.Information,
        Message = "Storage: {Description}; {Keys} keys and {Writes} writes held at start")]
    public static partial void StorageOpened(ILogger logger, string description, long keys, long writes);

    [LoggerMessage(EventId = 101, EventName = "NoDataDirectory", Level = LogLevel.Warning,
        Message = "Versions live in memory only (no CausalKv:DataDirectory, or CausalKv:Storage = Memory): a crash loses the writes not yet replicated.")]
    public static partial void NoDataDirectory(ILogger logger);

    [LoggerMessage(EventId = 110, EventName = "LegacyLogImported", Level = LogLevel.Warning,
        Message = "Imported {Keys} keys from wal.jsonl, the log of an earlier version, into the storage engine (renamed wal.jsonl.imported); torn last record dropped: {TornTail}")]
    public static partial void LegacyLogImported(ILogger logger, int keys, bool tornTail);

    [LoggerMessage(EventId = 111, EventName = "StoreSetAside", Level = LogLevel.Error,
        Message = "The store was corrupt and was moved to {SetAside}; this node starts empty and catches up from its shard's peers before it answers reads")]
    public static partial void StoreSetAside(ILogger logger, string setAside);

    [LoggerMessage(EventId = 102, EventName = "NoClusterKey", Level = LogLevel.Warning,
        Message = "No cluster key configured (CausalKv:ClusterKey): node-to-node and cluster-changing endpoints accept anyone who can reach this node.")]
    public static partial void NoClusterKey(ILogger logger);

    [LoggerMessage(EventId = 103, EventName = "FaultInjectionEnabled", Level = LogLevel.Warning,
        Message = "Fault injection is enabled: PUT /admin/faults can cut this node off from others.")]
    public static partial void FaultInjectionEnabled(ILogger logger);

    [LoggerMessage(EventId = 200, EventName = "LinksCut", Level = LogLevel.Information,
        Message = "Cut the links to nodes {Nodes} (fault injection); cut off now from {Blocked}")]
    public static partial void LinksCut(ILogger logger, string nodes, string blocked);

    [LoggerMessage(EventId = 201, EventName = "LinksHealed", Level = LogLevel.Information,
        Message = "Healed the links to nodes {Nodes} (fault injection); cut off now from {Blocked}")]
    public static partial void LinksHealed(ILogger logger, string nodes, string blocked);

    [LoggerMessage(EventId = 300, EventName = "ViewInstalled", Level = LogLevel.Information,
        Message = "Installed view epoch {Epoch}: node {Node} in shard {Shard} (was {PreviousShard}), {Nodes} nodes in {Shards} shards; waiting for keys from shards {IncomingShards}")]
    public static partial void ViewInstalled(ILogger logger, long epoch, int node, string shard, string previousShard, int nodes, int shards, string incomingShards);

    [LoggerMessage(EventId = 314, EventName = "ViewPromised", Level = LogLevel.Information,
        Message = "Promised view epoch {Epoch} (already promised or installed: {Again}): no other layout is installed here under it")]
    public static partial void ViewPromised(ILogger logger, long epoch, bool again);

    [LoggerMessage(EventId = 315, EventName = "ViewPromiseRefused", Level = LogLevel.Warning,
        Message = "Refused to promise or install view epoch {Epoch}; this node holds epoch {Holds}: {Reason}")]
    public static partial void ViewPromiseRefused(ILogger logger, long epoch, long holds, string reason);

    [LoggerMessage(EventId = 309, EventName = "ViewResumed", Level = LogLevel.Information,
        Message = "Resumed view epoch {Epoch} from the data directory: shard {Shard}; waiting for keys from shards {IncomingShards}; catching up: {CatchingUp}")]
    public static partial void ViewResumed(ILogger logger, long epoch, string shard, string incomingShards, bool catchingUp);

    [LoggerMessage(EventId = 313, EventName = "HandoffAwaitsEarlierKeys", Level = LogLevel.Information,
        Message = "Handoff for epoch {Epoch} waited {Milliseconds} ms for keys still on their way here under an earlier view (shards {IncomingShards}); all arrived: {Arrived}")]
    public static partial void HandoffAwaitedEarlierKeys(ILogger logger, long epoch, long milliseconds, string incomingShards, bool arrived);

    [LoggerMessage(EventId = 301, EventName = "KeysHandedOff", Level = LogLevel.Information,
        Message = "Handoff for epoch {Epoch} from shard {FromShard}: {Keys} keys handed off to {Shards} shards in {Milliseconds} ms")]
    public static partial void KeysHandedOff(ILogger logger, long epoch, string fromShard, int keys, int shards, long milliseconds);

    [LoggerMessage(EventId = 320, EventName = "HandoffSuperseded", Level = LogLevel.Information,
        Message = "A newer view arrived during the handoff of epoch {Epoch}: it stops here, and what it still owes goes out with the newer view's handoff")]
    public static partial void HandoffSuperseded(ILogger logger, long epoch);

    [LoggerMessage(EventId = 302, EventName = "HandoffIncomplete", Level = LogLevel.Warning,
        Message = "Handoff for epoch {Epoch} is incomplete: {Errors}")]
    public static partial void HandoffIncomplete(ILogger logger, long epoch, string errors);

    [LoggerMessage(EventId = 303, EventName = "KeysGained", Level = LogLevel.Information,
        Message = "Handoff for epoch {Epoch}: gained {Keys} keys from shard {FromShard} (node {FromNode}); that shard is done: {Complete}")]
    public static partial void KeysGained(ILogger logger, long epoch, int keys, string fromShard, int fromNode, bool complete);

    [LoggerMessage(EventId = 304, EventName = "HandoffAttemptFailed", Level = LogLevel.Debug,
        Message = "Handoff to node {Node} failed: {Error}")]
    public static partial void HandoffAttemptFailed(ILogger logger, int node, string error);

    [LoggerMessage(EventId = 310, EventName = "HandoffReportRelayed", Level = LogLevel.Information,
        Message = "No replica of shard {Shard} took this node's report for epoch {Epoch}; retrying it in the background until one does")]
    public static partial void HandoffReportRelayed(ILogger logger, string shard, long epoch);

    [LoggerMessage(EventId = 311, EventName = "HandoffReportDelivered", Level = LogLevel.Information,
        Message = "Shard {Shard} took this node's report for epoch {Epoch} after {Attempts} attempts")]
    public static partial void HandoffReportDelivered(ILogger logger, string shard, long epoch, int attempts);

    [LoggerMessage(EventId = 312, EventName = "OwedHandoffRun", Level = LogLevel.Information,
        Message = "Ran the handoff epoch {Epoch} still owed: {Keys} keys moved, {Errors} shards not done")]
    public static partial void OwedHandoffRun(ILogger logger, long epoch, int keys, int errors);

    [LoggerMessage(EventId = 305, EventName = "StrayKeysHandedOff", Level = LogLevel.Information,
        Message = "Handed {Keys} stray keys to their owners")]
    public static partial void StrayKeysHandedOff(ILogger logger, int keys);

    [LoggerMessage(EventId = 306, EventName = "StrayKeyHandoffFailed", Level = LogLevel.Warning,
        Message = "Handing off stray keys failed; retrying later")]
    public static partial void StrayKeyHandoffFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 307, EventName = "FenceLifted", Level = LogLevel.Warning,
        Message = "No handoff from shards {Shards} within {Timeout}: lifting the fence for epoch {Epoch}")]
    public static partial void FenceLifted(ILogger logger, string shards, TimeSpan timeout, long epoch);

    [LoggerMessage(EventId = 308, EventName = "ForwardAttemptFailed", Level = LogLevel.Debug,
        Message = "Forward to node {Node} of shard {Shard} failed: {Error}")]
    public static partial void ForwardAttemptFailed(ILogger logger, int node, string shard, string error);

    [LoggerMessage(EventId = 400, EventName = "CausalWaitDeadline", Level = LogLevel.Warning,
        Message = "A read of {Scope} gave up waiting after {WaitedMs} ms (deadline {DeadlineMs} ms): still missing {Missing}")]
    public static partial void CausalWaitDeadline(ILogger logger, string scope, long waitedMs, long deadlineMs, string missing);

    [LoggerMessage(EventId = 500, EventName = "CaughtUp", Level = LogLevel.Information,
        Message = "Caught up with node {Peer}")]
    public static partial void CaughtUp(ILogger logger, int peer);

}
