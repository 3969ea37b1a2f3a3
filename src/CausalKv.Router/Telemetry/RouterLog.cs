using CausalKv.Router.Routing;

namespace CausalKv.Router.Telemetry;

/// <summary>
/// Every log event the router writes, with its id, name and level defined once. Ids are grouped by concept:
/// 1xx view discovery, 2xx view changes, 3xx routing and failover, 4xx replica health; 600 is a refused request (CausalKv.Http.RefusalAccounting, shared with the nodes).
/// </summary>
internal static partial class RouterLog
{
    [LoggerMessage(EventId = 100, EventName = "NoSeeds", Level = LogLevel.Warning,
        Message = "No node to learn the view from: configure services:<node>:http:0 (the AppHost does) or CausalKv:Router:Seeds, or PUT /view at the router.")]
    public static partial void NoSeeds(ILogger logger);

    [LoggerMessage(EventId = 101, EventName = "ViewAnswerUnreadable", Level = LogLevel.Debug,
        Message = "{Node} answered GET /view with something that is not a view")]
    public static partial void ViewAnswerUnreadable(ILogger logger, string node);

    [LoggerMessage(EventId = 200, EventName = "ViewFollowed", Level = LogLevel.Information,
        Message = "Routing by view epoch {Epoch} (was epoch {PreviousEpoch}): {Shards} shards, {Nodes} nodes ({View})")]
    public static partial void ViewFollowed(ILogger logger, long epoch, long previousEpoch, int shards, int nodes, string view);

    [LoggerMessage(EventId = 201, EventName = "ViewBroadcast", Level = LogLevel.Information,
        Message = "Broadcasting view epoch {Epoch} to {Count} nodes: {View}")]
    public static partial void ViewBroadcast(ILogger logger, long epoch, int count, string view);

    [LoggerMessage(EventId = 202, EventName = "ViewNotInstalledEverywhere", Level = LogLevel.Warning,
        Message = "View epoch {Epoch} was not installed everywhere: {Failures}")]
    public static partial void ViewNotInstalledEverywhere(ILogger logger, long epoch, string failures);

    [LoggerMessage(EventId = 203, EventName = "ViewRefused", Level = LogLevel.Warning,
        Message = "PUT /view refused with {Status} before any node got it: {Reason}")]
    public static partial void ViewRefused(ILogger logger, int status, string reason);

    [LoggerMessage(EventId = 300, EventName = "Failover", Level = LogLevel.Warning,
        Message = "Failover in shard {Shard}: {FailedReplica} gave no answer ({Reason}); trying {NextReplica}")]
    public static partial void Failover(ILogger logger, string shard, Replica failedReplica, string reason, Replica nextReplica);

    [LoggerMessage(EventId = 301, EventName = "ShardRoundFailed", Level = LogLevel.Debug,
        Message = "No replica of shard {Shard} took the request (last: {FailedReplica}, {Reason}); trying again in {PauseMs} ms")]
    public static partial void ShardRoundFailed(ILogger logger, string shard, Replica failedReplica, string reason, long pauseMs);

    [LoggerMessage(EventId = 302, EventName = "ShardUnreachable", Level = LogLevel.Warning,
        Message = "Shard {Shard} is unreachable: none of nodes {Nodes} took the request in {Attempts} attempts over {Seconds:0.#} s; answering 503")]
    public static partial void ShardUnreachable(ILogger logger, string shard, string nodes, int attempts, double seconds);

    [LoggerMessage(EventId = 400, EventName = "ReplicaRuledOut", Level = LogLevel.Warning,
        Message = "Ruling out {Replica} for {Seconds:0.#} s: {Reason}")]
    public static partial void ReplicaRuledOut(ILogger logger, Replica replica, double seconds, string reason);

    [LoggerMessage(EventId = 401, EventName = "ReplicaProbeFailed", Level = LogLevel.Warning,
        Message = "Ruling out {Replica}: {Verdict}")]
    public static partial void ReplicaProbeFailed(ILogger logger, Replica replica, string verdict);

    [LoggerMessage(EventId = 402, EventName = "ReplicaHealthy", Level = LogLevel.Information,
        Message = "{Replica} is healthy again")]
    public static partial void ReplicaHealthy(ILogger logger, Replica replica);

    [LoggerMessage(EventId = 403, EventName = "ReplicaSilent", Level = LogLevel.Warning,
        Message = "{Replica} has answered no probe for {Seconds:0.#} s: taking it to be cut off and cancelling the {Count} requests in flight to it")]
    public static partial void ReplicaSilent(ILogger logger, Replica replica, double seconds, int count);

    [LoggerMessage(EventId = 500, EventName = "ReconcilerStarted", Level = LogLevel.Information,
        Message = "Reconciling the cluster with its declaration: {Declaration}")]
    public static partial void ReconcilerStarted(ILogger logger, string declaration);

    [LoggerMessage(EventId = 501, EventName = "Reconciling", Level = LogLevel.Information,
        Message = "Reconciler: {Action} (generation {Generation}, epoch {Epoch}): {Reason}")]
    public static partial void Reconciling(ILogger logger, string action, long generation, long epoch, string reason);

    [LoggerMessage(EventId = 502, EventName = "ReconcileBlocked", Level = LogLevel.Warning,
        Message = "Reconciler: {Action}: {Reason}; blocked by: {Blockers}")]
    public static partial void ReconcileBlocked(ILogger logger, string action, string reason, string blockers);

    [LoggerMessage(EventId = 503, EventName = "ReconcileInSync", Level = LogLevel.Information,
        Message = "Reconciler: every member holds the declared view (generation {Generation}, epoch {Epoch})")]
    public static partial void ReconcileInSync(ILogger logger, long generation, long epoch);

    [LoggerMessage(EventId = 504, EventName = "ReconcileFailed", Level = LogLevel.Warning,
        Message = "Reconciler: the round did not finish: {Error}")]
    public static partial void ReconcileFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 505, EventName = "ClusterFormed", Level = LogLevel.Information,
        Message = "Cluster formed from its declaration (generation {Generation}, epoch {Epoch}) {Milliseconds} ms after the router started")]
    public static partial void ClusterFormed(ILogger logger, long generation, long epoch, long milliseconds);

    [LoggerMessage(EventId = 506, EventName = "DeclarationChanged", Level = LogLevel.Information,
        Message = "New declaration: {Declaration}")]
    public static partial void DeclarationChanged(ILogger logger, string declaration);
}
