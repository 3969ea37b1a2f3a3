using CausalKv.Causality;
using FsCheck;
using FsCheck.Fluent;

namespace CausalKv.Tests.Causality;

/// <summary>
/// Small, collision-prone inputs for the causality property tests: 4 origins,
/// sequence numbers 0..5, few tag values and few keys, so that equal, dominated
/// and concurrent vectors/versions all show up often.
/// </summary>
public static class CausalityGen
{
    /// <summary>Four realistic origins (node 0..3, one incarnation each).</summary>
    public static readonly long[] Origins =
    [
        OriginId.Create(0, 1001),
        OriginId.Create(1, 1002),
        OriginId.Create(2, 1003),
        OriginId.Create(3, 1004),
    ];

    public static readonly string[] Keys = ["x", "y", "z"];

    /// <summary>A real system never has two different values under one tag: the value is a function of the tag (some tags are deletes).</summary>
    public static string? ValueOf(WriteTag tag) => tag.Timestamp % 4 == 3 ? null : $"v{tag.Timestamp}.{tag.Node}";

    public static Gen<VersionVector> Vector =>
        Gen.CollectToArray(Origins, o =>
                Gen.Frequency((2, Gen.Constant(0)), (5, Gen.Choose(1, 5)))
                    .Select(s => new VersionVector.Entry(o, s)))
            .Select(entries => VersionVector.Of(entries));

    public static Gen<VersionVector> NonEmptyVector => Vector.Where(v => !v.IsEmpty);

    public static Gen<WriteTag> Tag =>
        Gen.Choose(0, 6).SelectMany(ts => Gen.Choose(0, 2), (ts, node) => new WriteTag(ts, node));

    public static Gen<Dependency> Dependency =>
        NonEmptyVector.SelectMany(_ => Tag, (clock, tag) => new Dependency(clock, tag));

    public static Gen<DependencySet> DependencySet =>
        Gen.Choose(0, 4)
            .SelectMany(n => Gen.ListOf(
                Gen.Elements(Keys).SelectMany(_ => Dependency, (k, d) => new KeyValuePair<string, Dependency>(k, d)), n))
            .Select(entries => CausalKv.Causality.DependencySet.Of(entries));

    public static Gen<StoredVersion> Version =>
        from tag in Tag
        from clock in NonEmptyVector
        from deps in DependencySet
        select new StoredVersion(ValueOf(tag), tag, clock, deps);

    /// <summary>Frontier maps origin -> seq (0..5), sometimes without an entry for an origin.</summary>
    public static Gen<Frontier> Frontier =>
        Gen.CollectToArray(Origins, o =>
                Gen.Frequency((1, Gen.Constant(-1)), (1, Gen.Constant(0)), (4, Gen.Choose(1, 5)))
                    .Select(s => (o, s)))
            .Select(pairs => CausalKv.Causality.Frontier.Of(pairs.Where(p => p.s >= 0).Select(p => KeyValuePair.Create(p.o, (long)p.s))));

    // ---- shrinkers, so that a failure reports a small counterexample ----

    public static IEnumerable<VersionVector> ShrinkVector(VersionVector v)
    {
        var entries = v.Entries.ToArray();
        for (var i = 0; i < entries.Length; i++)
        {
            yield return VersionVector.Of(entries.Where((_, j) => j != i).ToArray());
            if (entries[i].Seq > 1)
            {
                var lowered = (VersionVector.Entry[])entries.Clone();
                lowered[i] = lowered[i] with { Seq = lowered[i].Seq - 1 };
                yield return VersionVector.Of(lowered);
            }
        }
    }

    public static IEnumerable<DependencySet> ShrinkDependencySet(DependencySet s)
    {
        foreach (var (k, _) in s.Entries) yield return s.Without(k);
    }

    public static IEnumerable<StoredVersion> ShrinkVersion(StoredVersion v)
    {
        foreach (var d in ShrinkDependencySet(v.Dependencies)) yield return v with { Dependencies = d };
        foreach (var c in ShrinkVector(v.Clock).Where(c => !c.IsEmpty)) yield return v with { Clock = c };
    }
}

/// <summary>Registered with <c>[Property(Arbitrary = [typeof(CausalityArbitraries)])]</c>.</summary>
public static class CausalityArbitraries
{
    public static Arbitrary<VersionVector> VersionVector() => Arb.From(CausalityGen.Vector, CausalityGen.ShrinkVector);

    public static Arbitrary<WriteTag> WriteTag() => Arb.From(CausalityGen.Tag);

    public static Arbitrary<Dependency> Dependency() => Arb.From(CausalityGen.Dependency);

    public static Arbitrary<DependencySet> DependencySet() => Arb.From(CausalityGen.DependencySet, CausalityGen.ShrinkDependencySet);

    public static Arbitrary<StoredVersion> StoredVersion() => Arb.From(CausalityGen.Version, CausalityGen.ShrinkVersion);

    public static Arbitrary<Frontier> Frontier() => Arb.From(CausalityGen.Frontier);
}

/// <summary>Readable renderings for assertion messages (DependencySet has no ToString).</summary>
public static class Show
{
    public static string Vector(VersionVector v) =>
        "{" + string.Join(",", v.Entries.ToArray().Select(e => $"n{OriginId.NodeOf(e.Origin)}:{e.Seq}")) + "}";

    public static string Dep(Dependency d) => $"({Vector(d.Clock)} @{d.Tag.Timestamp}.{d.Tag.Node})";

    public static string Deps(DependencySet s) =>
        "[" + string.Join(", ", s.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}:{Dep(e.Value)}")) + "]";

    public static string Version(StoredVersion v) =>
        $"<{v.Value ?? "(deleted)"} @{v.Tag.Timestamp}.{v.Tag.Node} {Vector(v.Clock)} deps {Deps(v.Dependencies)}>";
}
