using CausalKv.Causality;
using FsCheck;
using FsCheck.Xunit;
using E = CausalKv.Causality.VersionVector.Entry;

namespace CausalKv.Tests.Causality;

/// <summary>
/// <see cref="VersionVector.Of"/> and <see cref="VersionVector.OfOwned"/> take entries already sorted and distinct as
/// they are, and sort and merge the rest; both must give the same vector, sorted, distinct and without zeros.
/// </summary>
[Properties(Arbitrary = [typeof(CausalityArbitraries)], MaxTest = 500)]
public sealed class VersionVectorOfTests
{
    // Oracle: the vector as origin -> highest seq, zeros dropped, by a dictionary.
    private static KeyValuePair<long, long>[] Expected(E[] entries) =>
        entries.Where(e => e.Seq > 0).GroupBy(e => e.Origin).Select(g => KeyValuePair.Create(g.Key, g.Max(e => e.Seq)))
            .OrderBy(kv => kv.Key).ToArray();

    private static void AssertIs(E[] entries, VersionVector v) =>
        Assert.Equal(Expected(entries), v.Entries.ToArray().Select(e => KeyValuePair.Create(e.Origin, e.Seq)).ToArray());

    private static void AssertBoth(E[] entries)
    {
        var of = VersionVector.Of(entries);
        var owned = VersionVector.OfOwned((E[])entries.Clone());
        AssertIs(entries, of);
        AssertIs(entries, owned);
        Assert.Equal(of, owned);
        Assert.Equal(of.GetHashCode(), owned.GetHashCode());
    }

    [Fact]
    public void Empty_IsTheEmptyVector()
    {
        Assert.Same(VersionVector.Empty, VersionVector.Of());
        Assert.Same(VersionVector.Empty, VersionVector.OfOwned([]));
        Assert.Same(VersionVector.Empty, VersionVector.Of(new E(3, 0), new E(1, 0)));
        Assert.Same(VersionVector.Empty, VersionVector.OfOwned([new E(3, 0)]));
    }

    [Fact]
    public void OneEntry_IsKeptAsItIs()
    {
        var v = VersionVector.Of(new E(7, 42));
        Assert.Equal(1, v.Count);
        Assert.Equal(42, v[7]);
        Assert.Equal(VersionVector.Empty.With(7, 42), v);
    }

    [Fact]
    public void SortedEntries_AreTakenWithoutChange()
    {
        E[] entries = [new(-5, 1), new(2, 9), new(3, 4)];
        var owned = VersionVector.OfOwned(entries);
        AssertBoth(entries);
        Assert.Equal(entries, owned.Entries.ToArray());
    }

    [Fact]
    public void UnsortedEntries_AreSorted() => AssertBoth([new(3, 4), new(-5, 1), new(2, 9)]);

    [Fact]
    public void DuplicateOrigins_KeepTheHighestSeq()
    {
        AssertBoth([new(2, 3), new(2, 8), new(5, 1)]);
        AssertBoth([new(2, 8), new(2, 3)]);
        AssertBoth([new(1, 1), new(1, 1)]);
        Assert.Equal(VersionVector.Of(new E(2, 8)), VersionVector.OfOwned([new(2, 3), new(2, 8)]));
    }

    [Fact]
    public void ZeroEntries_AreDropped_AlsoAmongSortedOnes() => AssertBoth([new(1, 2), new(2, 0), new(3, 5)]);

    [Fact]
    public void NegativeSeq_IsRefused_SortedOrNot()
    {
        Assert.Throws<ArgumentException>(() => VersionVector.Of(new E(1, -1)));
        Assert.Throws<ArgumentException>(() => VersionVector.Of(new E(1, 2), new E(3, -1)));
        Assert.Throws<ArgumentException>(() => VersionVector.Of(new E(3, 2), new E(1, -1)));
        Assert.Throws<ArgumentException>(() => VersionVector.OfOwned([new E(1, 2), new E(3, -1)]));
    }

    [Property]
    public void AnyEntries_GiveTheOraclesVector(long[] origins, ushort[] seqs)
    {
        var n = Math.Min(origins.Length, seqs.Length);
        var entries = Enumerable.Range(0, n).Select(i => new E(origins[i] % 4, seqs[i] % 5)).ToArray();
        AssertBoth(entries);
    }

    [Property]
    public void AVectorsOwnEntries_GiveAnEqualVector(VersionVector v)
    {
        Assert.Equal(v, VersionVector.Of(v.Entries));
        Assert.Equal(v, VersionVector.OfOwned(v.Entries.ToArray()));
        Assert.Equal(v.GetHashCode(), VersionVector.Of(v.Entries).GetHashCode());
    }
}
