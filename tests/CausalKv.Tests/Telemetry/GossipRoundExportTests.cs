using System.Diagnostics;
using System.Diagnostics.Metrics;
using CausalKv.Node.Replication;
using CausalKv.Node.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace CausalKv.Tests.Telemetry;

/// <summary>
/// A gossip round goes through the same OpenTelemetry export pipeline as in a node (an export processor in front of
/// an exporter): only rounds that moved data reach the exporter, and the round counter counts every round.
/// </summary>
public sealed class GossipRoundExportTests : IDisposable
{
    private const int Peer = 2;
    private readonly CollectingExporter _exporter = new();
    private readonly TracerProvider _tracing;
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly GossipRoundCounter _rounds;
    private readonly NodeTelemetry _telemetry;

    public GossipRoundExportTests()
    {
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(NodeTelemetry.Name)
            .AddProcessor(new SimpleActivityExportProcessor(_exporter))
            .Build();
        var meters = _services.GetRequiredService<IMeterFactory>();
        _rounds = new GossipRoundCounter(meters);
        _telemetry = new NodeTelemetry(meters);
    }

    private static CausalKv.Causality.Frontier Frontier(long seq) => CausalKv.Causality.Frontier.Empty.With(1, seq);

    /// <summary>Runs one round the way <see cref="PeerLink.GossipOnceAsync"/> does and returns its trace.</summary>
    private ActivityTraceId Round(GossipRoundOutcome outcome)
    {
        using var round = NodeTelemetry.StartGossipRound(Peer);
        Assert.NotNull(round);
        Assert.True(round.Recorded, "a round is recorded while it runs, so its request carries a sampled context until it is filtered");
        _telemetry.EndGossipRound(round, outcome);
        return round.TraceId;
    }

    [Fact]
    public void A_round_that_moved_nothing_is_counted_but_not_exported()
    {
        var trace = Round(GossipRoundOutcome.Compare(Frontier(5), Frontier(5)));

        Assert.Empty(_exporter.OfTrace(trace));
        Assert.Equal(1, _rounds.Count(moved: false, "in-sync"));
        Assert.Equal(0, _rounds.Count(moved: true));
    }

    [Fact]
    public void A_round_that_moved_data_is_exported_with_what_it_found()
    {
        var trace = Round(GossipRoundOutcome.Compare(ours: Frontier(5), theirs: Frontier(2)));

        var span = Assert.Single(_exporter.OfTrace(trace));
        Assert.Equal(NodeTelemetry.Spans.GossipRound, span.OperationName);
        Assert.Equal(Peer, span.GetTagItem(NodeTelemetry.Tags.Peer));
        Assert.Equal("peer-behind", span.GetTagItem(NodeTelemetry.Tags.Outcome));
        Assert.Equal(3L, span.GetTagItem(NodeTelemetry.Tags.EntriesToSend));
        Assert.Equal(0L, span.GetTagItem(NodeTelemetry.Tags.EntriesToReceive));
        Assert.Equal(1, _rounds.Count(moved: true, "peer-behind"));
        Assert.Equal(0, _rounds.Count(moved: false));
    }

    [Fact]
    public void A_round_whose_peer_did_not_answer_is_counted_as_unreachable_and_not_exported()
    {
        var trace = Round(GossipRoundOutcome.Failed);

        Assert.Empty(_exporter.OfTrace(trace));
        Assert.Equal(1, _rounds.Count(moved: false, "unreachable"));
    }

    [Fact]
    public void The_counter_counts_rounds_of_both_kinds()
    {
        var quiet = Enumerable.Range(0, 3).Select(_ => Round(GossipRoundOutcome.Compare(Frontier(4), Frontier(4)))).ToList();
        var moved = Round(GossipRoundOutcome.Compare(ours: Frontier(4), theirs: Frontier(6)));

        Assert.Equal(3, _rounds.Count(moved: false));
        Assert.Equal(1, _rounds.Count(moved: true, "we-are-behind"));
        Assert.All(quiet, trace => Assert.Empty(_exporter.OfTrace(trace)));
        Assert.Single(_exporter.OfTrace(moved));
    }

    [Fact]
    public void A_round_cut_short_by_shutdown_is_neither_counted_nor_exported()
    {
        ActivityTraceId trace;
        using (var round = NodeTelemetry.StartGossipRound(Peer))
        {
            trace = round!.TraceId;
            NodeTelemetry.Discard(round);
        }

        Assert.Empty(_exporter.OfTrace(trace));
        Assert.Equal(0, _rounds.Count(moved: false) + _rounds.Count(moved: true));
    }

    public void Dispose()
    {
        _tracing.Dispose();
        _rounds.Dispose();
        _telemetry.Dispose();
        _services.Dispose();
    }
}
