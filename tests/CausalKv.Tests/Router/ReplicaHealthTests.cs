using CausalKv.Router.Health;

namespace CausalKv.Tests.Router;

public sealed class ReplicaHealthTests
{
    private static readonly TimeSpan CutAfter = TimeSpan.FromSeconds(3);

    [Fact]
    public void One_slow_probe_does_not_cut_a_replica_off_but_three_seconds_of_silence_do_once()
    {
        var health = new ReplicaHealth();
        Assert.False(health.ReportSilence(1_000, CutAfter));
        Assert.False(health.ReportSilence(2_800, CutAfter));
        Assert.True(health.ReportSilence(4_000, CutAfter));
        // Once per silence: the requests sent meanwhile (the replica is ruled out, so few) are not cut again and again.
        Assert.False(health.ReportSilence(5_000, CutAfter));
    }

    [Fact]
    public void Any_answer_ends_the_silence()
    {
        var health = new ReplicaHealth();
        Assert.False(health.ReportSilence(1_000, CutAfter));
        health.ReportHeard();
        Assert.False(health.ReportSilence(3_500, CutAfter));
        Assert.False(health.ReportSilence(6_000, CutAfter));
        Assert.True(health.ReportSilence(6_500, CutAfter));
        health.ReportHeard();
        Assert.False(health.ReportSilence(7_000, CutAfter));
        Assert.True(health.ReportSilence(10_000, CutAfter));
    }

    [Fact]
    public void Probes_and_failures_decide_availability_independently()
    {
        var health = new ReplicaHealth();
        Assert.True(health.IsAvailable(0));
        Assert.True(health.ReportFailure(0, TimeSpan.FromSeconds(3)));
        Assert.False(health.IsAvailable(2_999));
        Assert.True(health.IsAvailable(3_000));
        Assert.True(health.ReportProbe(healthy: false));
        Assert.False(health.IsAvailable(10_000));
        Assert.False(health.ReportProbe(healthy: true));
        Assert.True(health.IsAvailable(10_000));
    }
}
