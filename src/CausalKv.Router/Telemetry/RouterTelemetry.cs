using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CausalKv.Router.Telemetry;

/// <summary>The router's one ActivitySource and one Meter; every span, attribute and instrument name is defined here.</summary>
internal sealed class RouterTelemetry : IDisposable
{
    public const string Name = "CausalKv.Router";

    public static class Spans
    {
        /// <summary>One client request for one key: which shard, which replica answered, after how many attempts.</summary>
        public const string Route = "route";
        /// <summary><c>GET /data</c>: one request per shard, merged.</summary>
        public const string ReadAll = "read_all";
        /// <summary><c>PUT /view</c> sent to every node of the old and new view.</summary>
        public const string ViewBroadcast = "view.broadcast";
        /// <summary>A reconciler round that sent a view: what it did and why.</summary>
        public const string Reconcile = "cluster.reconcile";
    }

    public static class Events
    {
        /// <summary>On a <c>route</c> (or <c>read_all</c>) span: a replica was given up on, why, and which one is tried next.</summary>
        public const string Failover = "failover";
    }

    public static class Tags
    {
        public const string Shard = "causalkv.shard";
        public const string Node = "causalkv.node";
        public const string Attempts = "causalkv.attempts";
        public const string Outcome = "causalkv.outcome";
        public const string Epoch = "causalkv.view.epoch";
        /// <summary>On a <c>failover</c> event: the replica given up on.</summary>
        public const string FailedNode = "causalkv.failover.failed_node";
        /// <summary>On a <c>failover</c> event: why that replica was given up on.</summary>
        public const string FailoverReason = "causalkv.failover.reason";
        /// <summary>On a <c>failover</c> event: the replica tried next; absent when every replica failed and the round starts over.</summary>
        public const string NextNode = "causalkv.failover.next_node";
        /// <summary>On a <c>failover</c> event that ended a round: how long the request pauses before the next round.</summary>
        public const string RetryInMs = "causalkv.failover.retry_in_ms";
        /// <summary>On a <c>cluster.reconcile</c> span and the reconcile counter: Install or Resend.</summary>
        public const string ReconcileAction = "causalkv.reconcile.action";
        /// <summary>On a <c>cluster.reconcile</c> span: why, in an operator's words.</summary>
        public const string ReconcileReason = "causalkv.reconcile.reason";
        public const string Generation = "causalkv.cluster.generation";
    }

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;

    public RouterTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Name);
        Requests = _meter.CreateCounter<long>("causalkv.router.requests", "{request}", "Requests routed to a shard, by shard and outcome.");
        ConnectFailures = _meter.CreateCounter<long>("causalkv.router.connect_failures", "{attempt}", "Attempts that could not connect to a replica and moved on to the next.");
        ReplicaEjections = _meter.CreateCounter<long>("causalkv.router.replica.ejections", "{ejection}", "Times a replica was ruled out by active or passive health.");
        ViewsInstalled = _meter.CreateCounter<long>("causalkv.router.views", "{view}", "Views the router started routing by.");
        ReconcileActions = _meter.CreateCounter<long>("causalkv.router.reconcile.actions", "{action}", "Views the reconciler sent, by action (Install, Resend).");
    }

    public Counter<long> Requests { get; }
    public Counter<long> ConnectFailures { get; }
    public Counter<long> ReplicaEjections { get; }
    public Counter<long> ViewsInstalled { get; }
    public Counter<long> ReconcileActions { get; }

    /// <summary>Registers the gauges of the declaration: its generation, and 1 while the cluster matches it (0 while a change is due or blocked).</summary>
    public void ObserveDeclaration(Func<long> generation, Func<int> inSync)
    {
        _meter.CreateObservableGauge("causalkv.router.declaration.generation", generation, "{generation}", "Generation of the declaration the router reconciles with.");
        _meter.CreateObservableGauge("causalkv.router.reconcile.in_sync", inSync, "{bool}", "1 while every member holds the declared view.");
    }

    /// <summary>Registers the gauge that reads the epoch the router routes by.</summary>
    public void ObserveEpoch(Func<long> epoch) =>
        _meter.CreateObservableGauge("causalkv.router.view.epoch", epoch, "{epoch}", "Epoch of the view the router routes by.");

    public void Dispose() => _meter.Dispose();
}
