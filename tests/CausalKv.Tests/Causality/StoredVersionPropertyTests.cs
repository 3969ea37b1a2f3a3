using CausalKv.Causality;
using FsCheck;
using FsCheck.Xunit;

namespace CausalKv.Tests.Causality;

[Properties(Arbitrary = [typeof(CausalityArbitraries)], MaxTest = 500)]
public sealed class StoredVersionPropertyTests
{
    private static void AssertEquivalent(StoredVersion expected, StoredVersion actual, string law)
    {
        Assert.True(expected.SameStateAs(actual), $"{law}: state differs: {Show.Version(expected)} vs {Show.Version(actual)}");
        Assert.True(expected.Dependencies.SetEquals(actual.Dependencies),
            $"{law}: dependencies differ: {Show.Version(expected)} vs {Show.Version(actual)}");
    }

    [Property]
    public void Merge_IsCommutative(StoredVersion a, StoredVersion b) =>
        AssertEquivalent(StoredVersion.Merge(a, b), StoredVersion.Merge(b, a), "a+b = b+a");

    [Property]
    public void Merge_IsAssociative(StoredVersion a, StoredVersion b, StoredVersion c) =>
        AssertEquivalent(
            StoredVersion.Merge(StoredVersion.Merge(a, b), c),
            StoredVersion.Merge(a, StoredVersion.Merge(b, c)),
            "(a+b)+c = a+(b+c)");

    [Property]
    public void Merge_IsIdempotent(StoredVersion a, StoredVersion b)
    {
        AssertEquivalent(a, StoredVersion.Merge(a, a), "a+a = a");
        AssertEquivalent(a, StoredVersion.Merge(a, a with { }), "a+copy(a) = a");
        var ab = StoredVersion.Merge(a, b);
        AssertEquivalent(ab, StoredVersion.Merge(ab, b), "(a+b)+b = a+b");
        AssertEquivalent(ab, StoredVersion.Merge(ab, a), "(a+b)+a = a+b");
    }

    [Property]
    public void Merge_WithNothing_IsIdentity(StoredVersion a) =>
        Assert.Same(a, StoredVersion.Merge(null, a));

    /// <summary>Replicas that receive the same versions in any order end in the same state.</summary>
    [Property(MaxTest = 300)]
    public void Merge_OfAnyOrder_Converges(StoredVersion a, StoredVersion b, StoredVersion c, StoredVersion d)
    {
        StoredVersion Fold(IEnumerable<StoredVersion> vs) => vs.Aggregate((StoredVersion?)null, StoredVersion.Merge)!;
        var reference = Fold([a, b, c, d]);
        foreach (var order in new[] { new[] { d, c, b, a }, [b, d, a, c], [c, a, d, b] })
            AssertEquivalent(reference, Fold(order), "fold in another order");
    }

    [Property]
    public void Merge_KeepsHighestTag_JoinsClocks(StoredVersion a, StoredVersion b)
    {
        var m = StoredVersion.Merge(a, b);
        Assert.True(m.Clock.Dominates(a.Clock), $"{Show.Version(m)} lost writes of {Show.Version(a)}");
        Assert.True(m.Clock.Dominates(b.Clock), $"{Show.Version(m)} lost writes of {Show.Version(b)}");
        Assert.Equal(a.Clock.Join(b.Clock), m.Clock);
        Assert.Equal(WriteTag.Max(a.Tag, b.Tag), m.Tag);
        Assert.Equal(CausalityGen.ValueOf(m.Tag), m.Value);
    }

    /// <summary>
    /// The documented contract: the dependencies are those of the surviving write (joined, when both are that write as
    /// two replicas pruned it), never those of a write it replaced.
    /// </summary>
    [Property]
    public void Merge_KeepsTheDependenciesOfTheSurvivingWrite(StoredVersion a, StoredVersion b)
    {
        var m = StoredVersion.Merge(a, b);
        var expected = a.Tag == b.Tag ? a.Dependencies.Join(b.Dependencies) : a.Tag > b.Tag ? a.Dependencies : b.Dependencies;
        Assert.True(expected.SetEquals(m.Dependencies),
            $"merge of {Show.Version(a)} and {Show.Version(b)} has deps {Show.Deps(m.Dependencies)}, expected {Show.Deps(expected)}");
    }

    /// <summary>
    /// A write made on top of a version (its local predecessor, or whatever the
    /// session depended on for the key, even if this replica never saw it) survives
    /// a merge with that predecessor in either order, even when the writer's
    /// wall clock is behind the predecessor's tag.
    /// </summary>
    [Property]
    public void NewWrite_SurvivesMergeWithPredecessor(StoredVersion local, DependencySet session, PositiveInt originPick, NonNegativeInt now, bool hasLocal)
    {
        const string key = "x";
        var origin = CausalityGen.Origins[originPick.Get % CausalityGen.Origins.Length];
        var node = OriginId.NodeOf(origin);
        // a stored version of x never depends on x itself (NewWrite drops the key, merges keep that)
        var predecessor = hasLocal ? local with { Dependencies = local.Dependencies.Without(key) } : null;
        var seq = Math.Max(predecessor?.Clock[origin] ?? 0, session[key]?.Clock[origin] ?? 0) + 1 + originPick.Get % 2;
        var nowMs = now.Get % 8; // often behind the predecessor's timestamp (clock skew)

        var w = StoredVersion.NewWrite(key, "new", predecessor, session, origin, seq, node, nowMs);

        Assert.Equal("new", w.Value);
        Assert.Equal(seq, w.Clock[origin]);
        Assert.Null(w.Dependencies[key]);
        // The write carries the session's dependencies, not those of the version it replaces.
        var expectedDeps = session.Without(key);
        Assert.True(expectedDeps.SetEquals(w.Dependencies), $"deps {Show.Deps(w.Dependencies)}, expected {Show.Deps(expectedDeps)}");
        Assert.True(w.Tag.Timestamp >= nowMs);

        var predecessors = new List<StoredVersion>();
        if (predecessor is not null) predecessors.Add(predecessor);
        if (session[key] is { } onKey)
            predecessors.Add(new StoredVersion(CausalityGen.ValueOf(onKey.Tag), onKey.Tag, onKey.Clock, DependencySet.Empty));

        foreach (var p in predecessors)
        {
            Assert.True(w.Tag > p.Tag, $"tag of new write {Show.Version(w)} not above predecessor {Show.Version(p)}");
            Assert.True(w.Clock.Dominates(p.Clock));
            Assert.True(StoredVersion.Merge(w, p).SameStateAs(w), $"new write lost (w+p): {Show.Version(w)} vs {Show.Version(p)}");
            Assert.True(StoredVersion.Merge(p, w).SameStateAs(w), $"new write lost (p+w): {Show.Version(w)} vs {Show.Version(p)}");
            // and the session's dependency on the predecessor is satisfied by the new write
            Assert.True(p.AsDependency().IsSatisfiedBy(w.Clock));
        }
    }

    /// <summary>
    /// Minimal, realistic counterexample for associativity of the dependencies:
    /// b = write x on replica 0 by a session depending on z; c = concurrent write x
    /// on replica 1 by a session depending on w; a = write x on replica 0 on top of b
    /// by a session with no dependencies. Replicas merging {a,b,c} in different
    /// groupings must end with the same dependency set.
    /// </summary>
    [Fact]
    public void Merge_DependenciesDoNotDependOnGrouping_RealisticWrites()
    {
        var o0 = CausalityGen.Origins[0];
        var o1 = CausalityGen.Origins[1];
        var dz = new Dependency(VersionVector.Of(new VersionVector.Entry(o0, 1)), new WriteTag(1, 0));
        var dw = new Dependency(VersionVector.Of(new VersionVector.Entry(o1, 1)), new WriteTag(1, 1));
        var b = StoredVersion.NewWrite("x", "b", null, DependencySet.Empty.With("z", dz), o0, 2, 0, 10);
        var c = StoredVersion.NewWrite("x", "c", null, DependencySet.Empty.With("w", dw), o1, 2, 1, 10);
        var a = StoredVersion.NewWrite("x", "a", b, DependencySet.Empty, o0, 3, 0, 11);

        var left = StoredVersion.Merge(StoredVersion.Merge(a, b), c);  // replica that got b, then a, then c
        var right = StoredVersion.Merge(a, StoredVersion.Merge(b, c)); // replica that got b, then c, then a
        Assert.True(left.SameStateAs(right));
        Assert.True(left.Dependencies.SetEquals(right.Dependencies),
            $"same writes, different dependencies: {Show.Deps(left.Dependencies)} vs {Show.Deps(right.Dependencies)}");
    }
}
