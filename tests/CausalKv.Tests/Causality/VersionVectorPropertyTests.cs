using CausalKv.Causality;
using FsCheck;
using FsCheck.Xunit;

namespace CausalKv.Tests.Causality;

[Properties(Arbitrary = [typeof(CausalityArbitraries)], MaxTest = 500)]
public sealed class VersionVectorPropertyTests
{
    // Oracle: a vector as a total function origin -> seq (absent = 0).
    private static long At(VersionVector v, long origin) => v[origin];

    private static bool PointwiseGe(VersionVector a, VersionVector b) =>
        CausalityGen.Origins.All(o => At(a, o) >= At(b, o));

    [Property]
    public void Join_IsCommutative(VersionVector a, VersionVector b) =>
        Assert.Equal(a.Join(b), b.Join(a));

    [Property]
    public void Join_IsAssociative(VersionVector a, VersionVector b, VersionVector c) =>
        Assert.Equal(a.Join(b).Join(c), a.Join(b.Join(c)));

    [Property]
    public void Join_IsIdempotent(VersionVector a, VersionVector b)
    {
        Assert.Equal(a, a.Join(a));
        var ab = a.Join(b);
        Assert.Equal(ab, ab.Join(a));
        Assert.Equal(ab, ab.Join(b));
    }

    [Property]
    public void Join_IsPointwiseMaximum(VersionVector a, VersionVector b)
    {
        var j = a.Join(b);
        foreach (var o in CausalityGen.Origins)
            Assert.Equal(Math.Max(At(a, o), At(b, o)), At(j, o));
        // and it has no entries for origins neither input mentions, and no zero entries
        Assert.All(j.Entries.ToArray(), e => Assert.True(e.Seq > 0 && (At(a, e.Origin) > 0 || At(b, e.Origin) > 0)));
    }

    [Property]
    public void Join_IsAnUpperBound(VersionVector a, VersionVector b)
    {
        var j = a.Join(b);
        Assert.True(j.Dominates(a), $"{Show.Vector(j)} should dominate {Show.Vector(a)}");
        Assert.True(j.Dominates(b), $"{Show.Vector(j)} should dominate {Show.Vector(b)}");
    }

    /// <summary>Least: any upper bound of a and b (built without Join) dominates the join.</summary>
    [Property]
    public void Join_IsTheLeastUpperBound(VersionVector a, VersionVector b, VersionVector extra)
    {
        var upper = VersionVector.Of(CausalityGen.Origins
            .Select(o => new VersionVector.Entry(o, Math.Max(At(a, o), At(b, o)) + At(extra, o))).ToArray());
        Assert.True(upper.Dominates(a) && upper.Dominates(b));
        Assert.True(upper.Dominates(a.Join(b)), $"{Show.Vector(upper)} bounds both but not the join {Show.Vector(a.Join(b))}");
    }

    [Property]
    public void Join_IsLeast_ForArbitraryCandidates(VersionVector a, VersionVector b, VersionVector c)
    {
        if (c.Dominates(a) && c.Dominates(b))
            Assert.True(c.Dominates(a.Join(b)));
    }

    [Property]
    public void Dominates_AgreesWithPointwiseOrder(VersionVector a, VersionVector b) =>
        Assert.Equal(PointwiseGe(a, b), a.Dominates(b));

    [Property]
    public void Dominates_IsReflexive(VersionVector a)
    {
        Assert.True(a.Dominates(a));
        // a structurally equal copy, not the same reference
        Assert.True(VersionVector.Of(a.Entries).Dominates(a));
        Assert.True(a.Dominates(VersionVector.Empty));
    }

    [Property]
    public void Dominates_IsAntisymmetric(VersionVector a, VersionVector b)
    {
        if (a.Dominates(b) && b.Dominates(a))
        {
            Assert.Equal(a, b);
            Assert.Equal(a.GetHashCode(), b.GetHashCode());
        }
    }

    [Property]
    public void Dominates_IsTransitive(VersionVector a, VersionVector b, VersionVector c)
    {
        if (a.Dominates(b) && b.Dominates(c)) Assert.True(a.Dominates(c));
        // a chain that is certainly ordered
        var ab = a.Join(b);
        var abc = ab.Join(c);
        Assert.True(abc.Dominates(ab) && ab.Dominates(a) && abc.Dominates(a));
    }

    [Property]
    public void Equals_IsStructural(VersionVector a, VersionVector b)
    {
        var same = CausalityGen.Origins.All(o => At(a, o) == At(b, o));
        Assert.Equal(same, a.Equals(b));
        if (same) Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Property]
    public void With_RaisesOneEntry(VersionVector a, PositiveInt raw)
    {
        var origin = CausalityGen.Origins[raw.Get % CausalityGen.Origins.Length];
        var seq = raw.Get % 7 + 1;
        var w = a.With(origin, seq);
        Assert.Equal(Math.Max(At(a, origin), seq), At(w, origin));
        Assert.True(w.Dominates(a));
        foreach (var o in CausalityGen.Origins.Where(o => o != origin)) Assert.Equal(At(a, o), At(w, o));
        Assert.Equal(a.Join(VersionVector.Of(new VersionVector.Entry(origin, seq))), w);
    }

    [Property]
    public void IsCoveredBy_AgreesWithPointwiseOrder(VersionVector a, Frontier frontier)
    {
        var asVector = VersionVector.Of(frontier.Select(kv => new VersionVector.Entry(kv.Key, kv.Value)).ToArray());
        Assert.Equal(asVector.Dominates(a), a.IsCoveredBy(frontier));
    }

    [Fact]
    public void Of_DropsZeroEntries_AndKeepsMaxPerOrigin()
    {
        var o = CausalityGen.Origins;
        var v = VersionVector.Of(new(o[1], 0), new(o[0], 2), new(o[0], 4), new(o[2], 1));
        Assert.Equal([new(o[0], 4), new(o[2], 1)], v.Entries.ToArray());
        Assert.True(VersionVector.Of(new VersionVector.Entry(o[0], 0)).IsEmpty);
        Assert.Throws<ArgumentException>(() => VersionVector.Of(new VersionVector.Entry(o[0], -1)));
    }

    [Fact]
    public void ConcurrentVectors_DominateNeitherWay()
    {
        var o = CausalityGen.Origins;
        var a = VersionVector.Of(new(o[0], 2), new(o[1], 1));
        var b = VersionVector.Of(new(o[0], 1), new(o[1], 2));
        Assert.False(a.Dominates(b));
        Assert.False(b.Dominates(a));
        Assert.Equal(VersionVector.Of(new(o[0], 2), new(o[1], 2)), a.Join(b));
        Assert.False(VersionVector.Empty.Dominates(a));
    }
}
