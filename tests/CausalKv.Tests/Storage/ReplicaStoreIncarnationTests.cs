using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Tests.Simulation;

namespace CausalKv.Tests.Storage;

public sealed class ReplicaStoreIncarnationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("causalkv-incarnation-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_store_restarted_with_its_clock_set_back_never_reuses_an_origin_it_wrote_with()
    {
        long now = 5_000;
        var clock = new SimulatedClock(() => now, 0);
        long before;
        using (var store = new ReplicaStore(clock, RocksDbVersionTable.Open(_dir, Durability.Process, 8 << 20)))
        {
            before = store.StartIncarnation(3);
            store.Write("k", "v1", DependencySet.Empty, 3);
        }
        now -= 700; // the machine comes back with its wall clock set back
        using var again = new ReplicaStore(clock, RocksDbVersionTable.Open(_dir, Durability.Process, 8 << 20));
        var after = again.StartIncarnation(3);
        Assert.True(OriginId.IncarnationOf(after) > OriginId.IncarnationOf(before),
            $"origin {after} after the restart reuses or precedes {before}, whose dots are already in the log");
        var stored = again.Write("j", "v2", DependencySet.Empty, 3);
        Assert.NotEqual(before, after);
        Assert.Equal(1, stored.Clock[after]);
    }

    /// <summary>
    /// A store set aside as corrupt takes the origins it wrote with along; the membership file beside it still knows
    /// the last incarnation, so a clock set back cannot hand one of them out again (peers hold their dots).
    /// </summary>
    [Fact]
    public void A_node_whose_store_was_lost_still_starts_above_the_incarnations_it_used()
    {
        long now = 9_000;
        var clock = new SimulatedClock(() => now, 0);
        var membership = new MembershipFile(_dir);
        long before;
        using (var store = new ReplicaStore(clock))
        {
            before = store.StartIncarnation(3, membership.Load().Incarnation);
            membership.SaveIncarnation(before);
            store.Write("k", "v1", DependencySet.Empty, 3);
        }
        now -= 2_000;
        using var empty = new ReplicaStore(clock);
        var remembered = new MembershipFile(_dir).Load().Incarnation;
        Assert.Equal(OriginId.IncarnationOf(before), remembered);
        var after = empty.StartIncarnation(3, remembered);
        Assert.True(OriginId.IncarnationOf(after) > OriginId.IncarnationOf(before));
        // Without the floor, the clock alone would have gone back below it.
        using var bare = new ReplicaStore(clock);
        Assert.True(OriginId.IncarnationOf(bare.StartIncarnation(3)) < OriginId.IncarnationOf(before));
    }

    /// <summary>What a write found (201 or 200 at the API) comes from under its own lock, not from a read before it.</summary>
    [Fact]
    public void A_write_hands_back_the_version_it_replaced()
    {
        var clock = new SimulatedClock(() => 1_000, 0);
        using var store = new ReplicaStore(clock);
        store.StartIncarnation(1);
        var first = store.Write("k", "v1", DependencySet.Empty, 1, null, out var none);
        Assert.Null(none);
        var second = store.Write("k", null, DependencySet.Empty, 1, null, out var replaced);
        Assert.Same(first, replaced);
        store.Write("k", "v3", DependencySet.Empty, 1, null, out var deleted);
        Assert.Same(second, deleted);
        Assert.True(deleted!.IsDeleted);
    }
}
