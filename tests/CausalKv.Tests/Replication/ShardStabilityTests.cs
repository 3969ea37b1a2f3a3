using CausalKv.Causality;

namespace CausalKv.Tests.Replication;

public sealed class ShardStabilityTests
{
    private static Frontier F(params (long Origin, long Seq)[] entries) => Frontier.Of(entries.Select(e => KeyValuePair.Create(e.Origin, e.Seq)));

    [Fact]
    public void Stable_IsWhatEveryReplicaHolds()
    {
        var s = new ShardStability();
        s.Recompute([F((1, 5), (2, 3)), F((1, 4), (2, 7)), F((1, 9))]);
        Assert.Equal(F((1, 4)), s.Stable);
        Assert.Equal(F((1, 4)), s.Effective);
    }

    [Fact]
    public void AHandoffsSourceFrontier_BecomesStableOnlyOnceEveryReplicaHoldsTheImport()
    {
        var s = new ShardStability();
        // This replica (origin 7) imported moved keys as its writes 1..10; the old shard had origin 3 stable to 40.
        s.RecordImport(F((7, 10)), F((3, 40)));
        s.Recompute([F((7, 10)), F((7, 6))]);
        Assert.Equal(0, s.Effective.Get(3)); // the peer lacks part of the import
        Assert.Null(s.ForeignSnapshot());

        s.Recompute([F((7, 10)), F((7, 10))]);
        Assert.Equal(40, s.Effective.Get(3));
        Assert.Equal(10, s.Effective.Get(7));
        Assert.Equal(F((3, 40)), s.ForeignSnapshot());
        Assert.Equal(F((7, 10)), s.Stable); // stable itself says only what the replicas hold
    }

    [Fact]
    public void AHandoffImportedByTwoReplicas_CountsOnlyOnceEveryReplicaHoldsBothParts()
    {
        var s = new ShardStability();
        // One part became writes of origin 7 (this replica), the other of origin 8 (its peer).
        s.RecordImport(F((7, 4), (8, 6)), F((3, 40)));
        s.Recompute([F((7, 4), (8, 5)), F((7, 4), (8, 6))]);
        Assert.Equal(0, s.Effective.Get(3));
        s.Recompute([F((7, 4), (8, 6)), F((7, 4), (8, 6))]);
        Assert.Equal(40, s.Effective.Get(3));
    }

    [Fact]
    public void ForeignFrontiers_LearnedFromPeers_JoinTheEffectiveFrontier()
    {
        var s = new ShardStability();
        Assert.True(s.LearnForeign(F((3, 40))));
        Assert.False(s.LearnForeign(F((3, 12)))); // nothing new
        Assert.False(s.LearnForeign(null));
        Assert.True(s.LearnForeign(F((3, 41), (4, 2))));
        s.Recompute([F((7, 1)), F((7, 1))]);
        Assert.Equal(F((7, 1), (3, 41), (4, 2)), s.Effective);
    }

    [Fact]
    public void AnImportWithoutASourceFrontier_ChangesNothing()
    {
        var s = new ShardStability();
        s.RecordImport(F((7, 10)), null);
        s.RecordImport(F((7, 10)), F());
        s.Recompute([F((7, 10))]);
        Assert.Null(s.ForeignSnapshot());
        Assert.Equal(F((7, 10)), s.Effective);
    }
}
