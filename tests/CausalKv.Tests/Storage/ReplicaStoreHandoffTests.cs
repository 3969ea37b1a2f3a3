using CausalKv.Causality;
using CausalKv.Node.Replication;

namespace CausalKv.Tests.Storage;

/// <summary>
/// A key that leaves a shard and comes back. Replica A writes it, hands it off to the new shard and forgets it; its
/// diff then names that write without the key's version, so replica B's frontier covers a write its own (stale) copy
/// lacks. The write is not lost for B: every removal follows a handoff the new shard acknowledged, so the version
/// that carries the write is there, and it comes back with its whole clock, logged as an import of whichever replica
/// takes it in; replication then carries it to the other.
/// </summary>
public sealed class ReplicaStoreHandoffTests
{
    private const string Key = "k";

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now = Now.AddMilliseconds(1);
    }

    public enum Return { ToWriter, ToPeer, ToBoth }

    [Theory]
    [InlineData(Return.ToWriter, true)]
    [InlineData(Return.ToPeer, true)]
    [InlineData(Return.ToBoth, true)]
    [InlineData(Return.ToWriter, false)]
    [InlineData(Return.ToPeer, false)]
    [InlineData(Return.ToBoth, false)]
    public void A_key_handed_off_removed_and_brought_back_converges_with_every_write(Return comesBackTo, bool peerHandsOffItsCopy)
    {
        var time = new ManualTime();
        using var a = NewStore(time, 0);
        using var b = NewStore(time, 1);
        using var newShard = NewStore(time, 2);

        a.Write(Key, "v1", DependencySet.Empty, 0);
        Exchange(a, b);
        var second = a.Write(Key, "v2", DependencySet.Empty, 0); // B has not received it yet

        // The key moves to another shard: A hands off v2 and forgets it once acknowledged.
        Handoff(a, newShard);
        if (peerHandsOffItsCopy) Handoff(b, newShard); // else B missed that view and keeps its copy

        // A's next diff names v2's write, but the key is gone from A: B's frontier passes it without the version.
        var batch = a.Diff(b.AppliedSnapshot(), 100);
        Assert.NotNull(batch);
        Assert.DoesNotContain(batch.Versions, v => v.Key == Key);
        b.Apply(batch.Ranges, batch.Versions, batch.SnapshotApplied);
        Assert.True(b.AppliedSnapshot().Get(a.Origin) >= second.Clock[a.Origin]);

        // The key comes back.
        var back = newShard.All.ToList();
        if (comesBackTo != Return.ToPeer) a.Import(back);
        if (comesBackTo != Return.ToWriter) b.Import(back);
        newShard.RemoveIfUnchanged(back);
        Exchange(a, b);

        var onA = a.Get(Key);
        var onB = b.Get(Key);
        Assert.NotNull(onA);
        Assert.NotNull(onB);
        Assert.True(onA.SameStateAs(onB), $"A holds {onA.Clock}, B holds {onB.Clock}");
        Assert.Equal("v2", onA.Value);
        Assert.True(onB.Clock[a.Origin] >= second.Clock[a.Origin], $"B's version {onB.Clock} lacks A's write {second.Clock}");
        Assert.Equal(a.AppliedSnapshot(), b.AppliedSnapshot());
    }

    private static ReplicaStore NewStore(TimeProvider time, int nodeId)
    {
        var store = new ReplicaStore(time);
        store.StartIncarnation(nodeId);
        return store;
    }

    /// <summary>Hands every key of <paramref name="from"/> to <paramref name="to"/> and removes them, as an acknowledged handoff does.</summary>
    private static void Handoff(ReplicaStore from, ReplicaStore to)
    {
        var sent = from.All.ToList();
        to.Import(sent);
        from.RemoveIfUnchanged(sent);
    }

    /// <summary>Diffs both ways until neither replica has anything left to send.</summary>
    private static void Exchange(ReplicaStore x, ReplicaStore y)
    {
        for (var round = 0; round < 20; round++)
        {
            var moved = Push(x, y) | Push(y, x);
            if (!moved) return;
        }
        Assert.Fail("the replicas never stopped exchanging");
    }

    private static bool Push(ReplicaStore from, ReplicaStore to)
    {
        var batch = from.Diff(to.AppliedSnapshot(), 100);
        if (batch is null) return false;
        Assert.False(batch.NeedsSnapshot);
        to.Apply(batch.Ranges, batch.Versions, batch.SnapshotApplied);
        return true;
    }
}
