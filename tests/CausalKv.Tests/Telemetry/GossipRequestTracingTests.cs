using System.Collections.Concurrent;
using System.Diagnostics;
using CausalKv.Node.Configuration;
using CausalKv.Node.Faults;
using CausalKv.Node.Replication;
using CausalKv.Node.Telemetry;
using CausalKv.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace CausalKv.Tests.Telemetry;

/// <summary>
/// The gossip request itself, sent by <see cref="PeerClient"/> inside a round's span to a real HTTP peer, with the
/// OpenTelemetry setup of ServiceDefaults (HttpClient and ASP.NET Core instrumentation): neither the client's HTTP span
/// nor the peer's server span (the peer runs in this process, under the same instrumentation) is exported, so a round
/// that is not exported leaves no orphan behind. The request does carry the round's trace context, as sampled: the
/// peer's filter, not the sampling flag, is what keeps its side out. A replication push, traced in full, shows that
/// the setup would see both HTTP spans.
/// </summary>
public sealed class GossipRequestTracingTests : IAsyncLifetime
{
    private readonly CollectingExporter _exporter = new();
    private readonly ConcurrentQueue<(string Path, string TraceParent)> _received = new();
    private IHost? _node;
    private WebApplication? _peer;
    private PeerClient? _client;
    private ViewNode? _peerNode;
    private NodeTelemetry? _telemetry;

    public async Task InitializeAsync()
    {
        // The node side: ServiceDefaults' OpenTelemetry setup, exporting into the collector.
        var node = Host.CreateApplicationBuilder();
        node.ConfigureOpenTelemetry();
        node.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(new SimpleActivityExportProcessor(_exporter)));
        node.Services.AddMetrics();
        _node = node.Build();
        _ = _node.Services.GetRequiredService<TracerProvider>();
        _telemetry = new NodeTelemetry(_node.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());

        // The peer: answers node-to-node requests with what it was sent, noting the trace context they carried.
        var peer = WebApplication.CreateSlimBuilder();
        peer.WebHost.UseUrls("http://127.0.0.1:0");
        _peer = peer.Build();
        _peer.MapPost("/internal/{kind}", async (HttpContext context) =>
        {
            _received.Enqueue((context.Request.Path.Value!, context.Request.Headers.TraceParent.ToString()));
            context.Response.ContentType = "application/json";
            await context.Request.Body.CopyToAsync(context.Response.Body);
        });
        await _peer.StartAsync();
        var address = new Uri(_peer.Urls.First());
        _peerNode = new ViewNode($"{address.Host}:{address.Port}", 1);

        var options = Options.Create(new NodeOptions { NodeId = 0 });
        _client = new PeerClient(new FaultInjector(false, NullLogger<FaultInjector>.Instance),
            new NodeIdentity(options, new ConfigurationBuilder().Build()), options);
    }

    private static GossipDigest Digest(long seq) => new() { From = 0, Epoch = 1, Origin = 1, Applied = CausalKv.Causality.Frontier.Empty.With(1, seq) };

    /// <summary>One gossip round as <see cref="PeerLink.GossipOnceAsync"/> runs it, against the peer; returns its trace.</summary>
    private async Task<ActivityTraceId> GossipAsync(long peerSeq)
    {
        using var round = NodeTelemetry.StartGossipRound(_peerNode!.Id);
        Assert.NotNull(round);
        var ours = Digest(5);
        var (theirs, _, _) = await _client!.PostAsync(_peerNode, "/internal/gossip", ours,
            WireJsonContext.Default.GossipDigest, WireJsonContext.Default.GossipDigest, CancellationToken.None);
        theirs.Applied = theirs.Applied.With(1, peerSeq); // the peer echoes; this is what it would have held
        _telemetry!.EndGossipRound(round, GossipRoundOutcome.Compare(ours.Applied, theirs.Applied));
        return round.TraceId;
    }

    /// <summary>
    /// Stops the peer, which waits for its requests to finish (so every span of theirs has ended), and checks that the
    /// request reached it inside <paramref name="trace"/>.
    /// </summary>
    private async Task PeerReceivedAsync(ActivityTraceId trace, string path)
    {
        await _peer!.StopAsync();
        Assert.Single(_received, r => r.Path == path && r.TraceParent.Contains(trace.ToHexString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_round_that_moved_nothing_exports_no_span_at_all()
    {
        var trace = await GossipAsync(peerSeq: 5);

        await PeerReceivedAsync(trace, "/internal/gossip");
        Assert.Empty(_exporter.OfTrace(trace));
    }

    [Fact]
    public async Task A_round_that_moved_data_exports_only_the_round()
    {
        var trace = await GossipAsync(peerSeq: 2);

        await PeerReceivedAsync(trace, "/internal/gossip");
        var span = Assert.Single(_exporter.OfTrace(trace));
        Assert.Equal(NodeTelemetry.Spans.GossipRound, span.OperationName);
    }

    [Fact]
    public async Task A_replication_push_is_traced_with_its_http_spans()
    {
        ActivityTraceId trace;
        using (var push = NodeTelemetry.Source.StartActivity(NodeTelemetry.Spans.ReplicationPush, ActivityKind.Client))
        {
            Assert.NotNull(push);
            trace = push.TraceId;
            await _client!.PostAsync(_peerNode!, "/internal/replicate", Digest(5),
                WireJsonContext.Default.GossipDigest, WireJsonContext.Default.GossipDigest, CancellationToken.None);
        }

        await PeerReceivedAsync(trace, "/internal/replicate");
        var spans = _exporter.OfTrace(trace);
        Assert.Contains(spans, s => s.OperationName == NodeTelemetry.Spans.ReplicationPush);
        Assert.Contains(spans, s => s.Kind == ActivityKind.Client && s.GetTagItem("url.full") is string url && url.EndsWith("/internal/replicate", StringComparison.Ordinal));
        Assert.Contains(spans, s => s.Kind == ActivityKind.Server);
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_peer is not null) await _peer.DisposeAsync();
        _telemetry?.Dispose();
        _node?.Dispose();
    }
}
