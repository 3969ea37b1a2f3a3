using CausalKv.Causality;
using FsCheck.Xunit;

namespace CausalKv.Tests.Causality;

/// <summary>
/// The tie-break among concurrent versions is a total order consistent with causality, and the read rule built on
/// it answers only with what every replica converges to.
/// </summary>
[Properties(Arbitrary = [typeof(CausalityArbitraries)], MaxTest = 500)]
public sealed class TieBreakPropertyTests
{
    [Property]
    public void WriteTag_IsATotalOrder(WriteTag a, WriteTag b, WriteTag c)
    {
        // total and antisymmetric: exactly one of <, ==, >
        Assert.Equal(1, (a < b ? 1 : 0) + (a == b ? 1 : 0) + (a > b ? 1 : 0));
        Assert.Equal(a.CompareTo(b), -b.CompareTo(a));
        if (a <= b && b <= c) Assert.True(a <= c);
        Assert.Equal(a >= b ? a : b, WriteTag.Max(a, b));
    }

    /// <summary>
    /// When a read answers with its local version although the session depends on a write the replica lacks, that
    /// version is what a merge with the missing write keeps: the answer can never be taken back.
    /// </summary>
    [Property]
    public void ARead_AnswersOnlyWithWhatTheMergeWithTheMissingWriteKeeps(StoredVersion local, StoredVersion missing)
    {
        // Histories respect causality: a version that includes another carries a tag at least as high, and a
        // version of x never depends on x itself.
        (local, missing) = (local with { Dependencies = local.Dependencies.Without("x") }, missing with { Dependencies = missing.Dependencies.Without("x") });
        if (missing.Clock.Dominates(local.Clock) && missing.Tag < local.Tag) return;
        if (local.Clock.Dominates(missing.Clock) && local.Tag < missing.Tag) return;
        var session = DependencySet.Empty.With("x", missing.AsDependency());
        if (CausalRead.Missing("x", session, local) is not null) return; // the read waits: nothing to check
        var merged = StoredVersion.Merge(local, missing);
        Assert.Equal(local.Value, merged.Value);
        Assert.Equal(local.Tag, merged.Tag);
        // and the metadata it returns covers both writes, so no replica behind either answers this session
        var after = CausalRead.AfterObserving(session, "x", local);
        var why = $"local {Show.Version(local)}, missing {Show.Version(missing)}, after {Show.Deps(after)}";
        Assert.True(after["x"]!.Clock.Dominates(missing.Clock) && after["x"]!.Clock.Dominates(local.Clock), why);
        Assert.True(after["x"]!.IsSatisfiedBy(merged.Clock), why);
    }

    /// <summary>The read waits whenever the missing write would replace the local version.</summary>
    [Property]
    public void ARead_WaitsWhenTheMissingWriteWouldWin(StoredVersion local, StoredVersion missing)
    {
        if (missing.Clock.Dominates(local.Clock) && missing.Tag < local.Tag) return;
        if (local.Clock.Dominates(missing.Clock) && local.Tag < missing.Tag) return;
        var merged = StoredVersion.Merge(local, missing);
        if (merged.Tag == local.Tag) return; // the local version survives
        var session = DependencySet.Empty.With("x", missing.AsDependency());
        Assert.NotNull(CausalRead.Missing("x", session, local));
    }

    /// <summary>
    /// A write made after observing w wins the tie-break against w also where w never arrived and the session's
    /// dependency on w was pruned (every replica of the old shard held it): the write's tag is above every tag the
    /// session observed. This is why a write never waits for a replica to catch up.
    /// </summary>
    [Property]
    public void AWrite_AfterAPrunedObservation_WinsAgainstTheWriteItFollows(StoredVersion observed, StoredVersion? local, long nowMs)
    {
        var session = CausalRead.AfterObserving(DependencySet.Empty, "x", observed).Prune((_, _) => true);
        Assert.True(session.IsEmpty);
        const long FreshOrigin = long.MaxValue / 2;
        var written = StoredVersion.NewWrite("x", "new", local, session, FreshOrigin, 1, nodeId: 0, nowMs: Math.Abs(nowMs % 1000));
        Assert.True(written.Tag > observed.Tag, $"tag {written.Tag} after observing {observed.Tag}");
        var atReplica = StoredVersion.Merge(local, written);
        Assert.Equal("new", StoredVersion.Merge(atReplica, observed).Value);
        Assert.Equal("new", StoredVersion.Merge(observed, atReplica).Value);
    }
}
