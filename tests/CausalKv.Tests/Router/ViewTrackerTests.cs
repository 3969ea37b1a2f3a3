using System.Diagnostics.Metrics;
using CausalKv.Router;
using CausalKv.Router.Discovery;
using CausalKv.Router.Telemetry;
using CausalKv.Sharding;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CausalKv.Tests.Router;

public sealed class ViewTrackerTests
{
    private static ViewTracker Tracker()
    {
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
        var config = new ConfigurationBuilder().AddInMemoryCollection([new("services:node0:http:0", "http://127.0.0.20:8081")]).Build();
        return new ViewTracker(config, Options.Create(new RouterOptions()), new RouterTelemetry(meters), NullLogger<ViewTracker>.Instance);
    }

    private static ShardView View(long epoch, params (string Shard, int Id, string Address)[] nodes) =>
        ShardView.Create(epoch, nodes.GroupBy(n => n.Shard).ToDictionary(
            g => g.Key, g => (IReadOnlyList<ViewNode>)g.Select(n => new ViewNode(n.Address, n.Id)).ToArray(), StringComparer.Ordinal));

    [Fact]
    public void Routing_only_ever_moves_to_a_higher_epoch()
    {
        var tracker = Tracker();
        Assert.Null(tracker.Current.View);

        Assert.True(tracker.Observe(2, View(2, ("s0", 0, "h:1"))));
        Assert.False(tracker.Observe(2, View(2, ("s0", 1, "h:2"))));
        Assert.False(tracker.Observe(1, View(1, ("s0", 1, "h:2"))));
        Assert.Equal(0, tracker.Current.ReplicasOf("s0").Single().Id);

        Assert.False(tracker.Observe(5, null));
        Assert.Equal(5, tracker.HighestEpoch);
        Assert.Equal(2, tracker.Current.Epoch);

        Assert.True(tracker.Observe(3, View(3, ("s0", 1, "h:2"))));
        Assert.Equal(1, tracker.Current.ReplicasOf("s0").Single().Id);
        Assert.Equal(5, tracker.HighestEpoch);
    }

    [Fact]
    public void A_node_keeps_its_load_and_health_across_a_view_change_while_its_id_and_address_stay()
    {
        var tracker = Tracker();
        tracker.Observe(1, View(1, ("s0", 0, "h:1"), ("s0", 1, "h:2")));
        var kept = tracker.Current.ReplicasOf("s0")[0];
        var moved = tracker.Current.ReplicasOf("s0")[1];
        kept.Health.ReportProbe(healthy: false);

        var changed = tracker.Changed;
        Assert.False(changed.IsCompleted);
        tracker.Observe(2, View(2, ("s0", 0, "h:1"), ("s1", 1, "h:3"), ("s1", 2, "h:4")));
        Assert.True(changed.IsCompleted);

        Assert.Same(kept, tracker.Current.ReplicasOf("s0").Single());
        Assert.False(tracker.Current.ReplicasOf("s0").Single().Health.ProbeHealthy);
        Assert.NotSame(moved, tracker.Current.ReplicasOf("s1")[0]);
    }

    [Fact]
    public void The_seeds_and_every_node_of_the_view_are_polled()
    {
        var tracker = Tracker();
        Assert.Equal(["http://127.0.0.20:8081"], tracker.PollTargets());
        tracker.Observe(1, View(1, ("s0", 0, "127.0.0.20:8081"), ("s1", 1, "127.0.0.21:8081")));
        Assert.Equal(["http://127.0.0.20:8081", "http://127.0.0.21:8081"], tracker.PollTargets());
    }
}
