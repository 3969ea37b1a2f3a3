using CausalKv.Causality;
using FsCheck;
using FsCheck.Xunit;

namespace CausalKv.Tests.Causality;

[Properties(Arbitrary = [typeof(CausalityArbitraries)], MaxTest = 500)]
public sealed class DependencySetPropertyTests
{
    private static void AssertSetEqual(DependencySet expected, DependencySet actual, string law) =>
        Assert.True(expected.SetEquals(actual), $"{law}: {Show.Deps(expected)} vs {Show.Deps(actual)}");

    /// <summary>Rebasing changes only how the set is stored: the same entries, whatever the basis.</summary>
    [Property]
    public void Rebase_KeepsExactlyTheEntries(DependencySet a, DependencySet basis)
    {
        AssertSetEqual(a, a.Rebase(basis), "rebase(a, b) = a");
        AssertSetEqual(a, a.Rebase(a.Join(basis)), "rebase(a, a+b) = a");
        AssertSetEqual(a, a.Rebase(basis.Join(a)), "rebase(a, b+a) = a");
    }

    /// <summary>A session's next dependencies, rebased on the last ones, reuse their entries instead of holding copies.</summary>
    [Property]
    public void Rebase_SharesTheEntriesTheBasisAlreadyHolds(DependencySet a, DependencySet b)
    {
        var next = a.Join(b);
        var copy = DependencySet.Of(next.Entries.Select(e => KeyValuePair.Create(e.Key, e.Value with { })));
        var rebased = copy.Rebase(next);
        Assert.Same(next, rebased);
    }

    /// <summary>Built in one pass, a set is the one <see cref="DependencySet.With"/> builds entry by entry: duplicates joined, empty clocks skipped.</summary>
    [Property]
    public void Of_IsWithOneEntryAtATime(Dependency[] deps, byte[] keyChoices)
    {
        var entries = deps.Select((d, i) => KeyValuePair.Create(
            CausalityGen.Keys[(i < keyChoices.Length ? keyChoices[i] : i) % CausalityGen.Keys.Length],
            i % 5 == 4 ? d with { Clock = VersionVector.Empty } : d)).ToArray();
        var expected = DependencySet.Empty;
        foreach (var (k, d) in entries) expected = expected.With(k, d);
        AssertSetEqual(expected, DependencySet.Of(entries), "of = with*");
        AssertSetEqual(expected, DependencySet.OfEntries(entries), "ofEntries = with*");
        if (expected.IsBlank) Assert.Same(DependencySet.Empty, DependencySet.Of(entries));
    }

    [Property]
    public void Latest_IsTheEntryWithTheHighestTag(DependencySet a)
    {
        var latest = a.Latest();
        if (a.IsEmpty) { Assert.Null(latest); return; }
        Assert.Equal(a.Entries.Max(e => e.Value.Tag), latest!.Value.Value.Tag);
    }

    [Property]
    public void Join_IsCommutative(DependencySet a, DependencySet b) =>
        AssertSetEqual(a.Join(b), b.Join(a), "a+b = b+a");

    [Property]
    public void Join_IsAssociative(DependencySet a, DependencySet b, DependencySet c) =>
        AssertSetEqual(a.Join(b).Join(c), a.Join(b.Join(c)), "(a+b)+c = a+(b+c)");

    [Property]
    public void Join_IsIdempotent_WithEmptyAsIdentity(DependencySet a, DependencySet b)
    {
        AssertSetEqual(a, a.Join(a), "a+a = a");
        var ab = a.Join(b);
        AssertSetEqual(ab, ab.Join(a), "(a+b)+a = a+b");
        AssertSetEqual(a, a.Join(DependencySet.Empty), "a+0 = a");
        AssertSetEqual(a, DependencySet.Empty.Join(a), "0+a = a");
    }

    /// <summary>The join holds exactly one entry per key of either side, the pointwise join of the entries.</summary>
    [Property]
    public void Join_IsPointwise_OneEntryPerKey(DependencySet a, DependencySet b)
    {
        var j = a.Join(b);
        var keys = a.Entries.Select(e => e.Key).Union(b.Entries.Select(e => e.Key)).ToHashSet(StringComparer.Ordinal);
        var joinedKeys = j.Entries.Select(e => e.Key).ToList();
        Assert.Equal(joinedKeys.Count, joinedKeys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(keys.Count, j.Count);
        Assert.True(keys.SetEquals(joinedKeys));
        foreach (var k in keys)
        {
            var (da, db, dj) = (a[k], b[k], j[k]!);
            var clock = (da?.Clock ?? VersionVector.Empty).Join(db?.Clock ?? VersionVector.Empty);
            var tag = WriteTag.Max(da?.Tag ?? WriteTag.Zero, db?.Tag ?? WriteTag.Zero);
            Assert.Equal(clock, dj.Clock);
            Assert.Equal(tag, dj.Tag);
        }
    }

    [Property]
    public void Of_KeepsOneEntryPerKey(NonEmptyArray<Dependency> deps, PositiveInt pick)
    {
        var entries = deps.Get.Select((d, i) => new KeyValuePair<string, Dependency>(CausalityGen.Keys[(i + pick.Get) % CausalityGen.Keys.Length], d)).ToList();
        var set = DependencySet.Of(entries);
        var byKey = entries.GroupBy(e => e.Key).ToList();
        Assert.Equal(byKey.Count, set.Count);
        Assert.Equal(set.Count, set.Entries.Select(e => e.Key).Distinct().Count());
        foreach (var g in byKey)
        {
            var expected = g.Select(e => e.Value).Aggregate((x, y) => x.Join(y));
            Assert.Equal(expected, set[g.Key]);
        }
    }

    [Property]
    public void With_EmptyClock_IsIgnored(DependencySet a, WriteTag tag)
    {
        var s = a.With("fresh-key", new Dependency(VersionVector.Empty, tag));
        AssertSetEqual(a, s, "with empty dependency");
        Assert.Null(s["fresh-key"]);
    }

    [Property]
    public void Without_RemovesOnlyThatKey(DependencySet a)
    {
        var s = a.Without("x");
        Assert.Null(s["x"]);
        Assert.Equal(a.Count - (a["x"] is null ? 0 : 1), s.Count);
        foreach (var k in new[] { "y", "z" }) Assert.Equal(a[k], s[k]);
    }

    [Property]
    public void Prune_RemovesExactlyTheStableEntries(DependencySet a, Frontier frontier)
    {
        var pruned = a.Prune((_, d) => d.Clock.IsCoveredBy(frontier));
        foreach (var (k, d) in a.Entries)
        {
            if (d.Clock.IsCoveredBy(frontier)) Assert.Null(pruned[k]);
            else Assert.Equal(d, pruned[k]);
        }
        Assert.Equal(a.Entries.Count(e => !e.Value.Clock.IsCoveredBy(frontier)), pruned.Count);
        Assert.Equal(pruned.Count == 0, pruned.IsEmpty);
    }

    [Fact]
    public void Prune_ByKey_And_ToEmpty()
    {
        var d = new Dependency(VersionVector.Of(new VersionVector.Entry(CausalityGen.Origins[0], 1)), new WriteTag(5, 0));
        var s = DependencySet.Empty.With("x", d).With("y", d);
        var onlyY = s.Prune((k, _) => k == "x");
        Assert.Equal(1, onlyY.Count);
        Assert.Null(onlyY["x"]);
        Assert.Equal(d, onlyY["y"]);
        Assert.True(s.Prune((_, _) => true).IsEmpty);
        Assert.Same(s, s.Prune((_, _) => false));
    }
}

[Properties(Arbitrary = [typeof(CausalityArbitraries)], MaxTest = 500)]
public sealed class StableFrontierPropertyTests
{
    [Property]
    public void Minimum_IsPointwiseMin_AndBelowEachInput(NonEmptyArray<Frontier> input)
    {
        var frontiers = input.Get.Take(4).ToList();
        var min = Frontier.Minimum(frontiers);
        foreach (var o in CausalityGen.Origins)
        {
            var expected = frontiers.Min(f => f.Get(o));
            Assert.Equal(expected, min.Get(o));
            foreach (var f in frontiers) Assert.True(min.Get(o) <= f.Get(o));
        }
        Assert.All(min, kv => Assert.Contains(kv.Key, CausalityGen.Origins));
        Assert.All(min, kv => Assert.True(kv.Value > 0, "no useless zero entries"));
        Assert.Equal(frontiers.Aggregate((a, b) => a.Min(b)), min);
    }

    /// <summary>Greatest lower bound: a vector covered by every input frontier is covered by the minimum.</summary>
    [Property]
    public void Minimum_CoversWhatEveryReplicaHolds(Frontier f1, Frontier f2, Frontier f3, VersionVector clock)
    {
        var min = Frontier.Minimum([f1, f2, f3]);
        var everyone = clock.IsCoveredBy(f1) && clock.IsCoveredBy(f2) && clock.IsCoveredBy(f3);
        Assert.Equal(everyone, clock.IsCoveredBy(min));
    }

    [Property]
    public void Minimum_IsOrderIndependent(Frontier f1, Frontier f2, Frontier f3)
    {
        Assert.Equal(Frontier.Minimum([f1, f2, f3]), Frontier.Minimum([f3, f1, f2]));
    }

    [Fact]
    public void Minimum_OfNothing_IsEmpty_AndOfOne_IsItself()
    {
        Assert.True(Frontier.Minimum([]).IsEmpty);
        var o = CausalityGen.Origins;
        var single = Frontier.Empty.With(o[0], 3);
        Assert.Equal(single, Frontier.Minimum([single]));
    }

    [Fact]
    public void Minimum_OriginMissingFromOneReplica_IsNotStable()
    {
        var o = CausalityGen.Origins;
        var r0 = Frontier.Empty.With(o[0], 4).With(o[1], 2);
        var r1 = Frontier.Empty.With(o[1], 5).With(o[2], 1);
        Assert.Equal(Frontier.Empty.With(o[1], 2), Frontier.Minimum([r0, r1]));
    }
}
