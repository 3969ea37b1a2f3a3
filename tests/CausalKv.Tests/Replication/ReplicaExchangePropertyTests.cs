using CausalKv.Causality;
using CausalKv.Tests.Causality;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CausalKv.Tests.Replication;

/// <summary>
/// Replicas of one shard that accept writes and exchange diffs in any order (batches computed early and delivered
/// late, delivered twice, or never, cut into small budgets) converge: once every pair has exchanged until nothing
/// is left to send, they hold the same version of every key and the same frontier, and every write survives
/// (its dot is covered by the final version of its key). With logs bounded to a few entries, a replica the log no
/// longer reaches back for is sent the versions of the store with a dot above its frontier, and the same holds.
/// </summary>
public sealed class ReplicaExchangePropertyTests
{
    private const int Replicas = 3;
    private static readonly string[] Keys = ["a", "b", "c", "d"];

    /// <summary>One step: a write at a replica, a diff computed from one replica for another (queued), or a queued diff delivered.</summary>
    public abstract record Step;
    public sealed record WriteStep(int Replica, int Key, bool Delete, int ClockAdvanceMs) : Step;
    public sealed record SendStep(int From, int To, int Budget) : Step;
    public sealed record DeliverStep(int Pick, bool KeepCopy) : Step;

    public static class Arbs
    {
        public static Arbitrary<Step[]> Steps() => Arb.From(Gen.ArrayOf(Gen.Frequency(
            (4, from r in Gen.Choose(0, Replicas - 1)
                from k in Gen.Choose(0, Keys.Length - 1)
                from del in Gen.Frequency((1, Gen.Constant(true)), (5, Gen.Constant(false)))
                from advance in Gen.Choose(0, 3)
                select (Step)new WriteStep(r, k, del, advance)),
            (3, from f in Gen.Choose(0, Replicas - 1)
                from t in Gen.Choose(0, Replicas - 1)
                from budget in Gen.Choose(1, 6)
                where f != t
                select (Step)new SendStep(f, t, budget)),
            (3, from pick in Gen.Choose(0, 1000)
                from keep in Gen.Frequency((1, Gen.Constant(true)), (4, Gen.Constant(false)))
                select (Step)new DeliverStep(pick, keep)))));
    }

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private sealed record Queued(int To, OutgoingBatch Batch);

    [Property(Arbitrary = [typeof(Arbs)], MaxTest = 200)]
    public void ReplicasExchangingDiffsInAnyOrder_Converge_AndLoseNoWrite(Step[] steps) => Exchange(steps, ReplicaStore.DefaultLogBytesLimit);

    /// <summary>About six entries of one-letter keys: logs shed all the time, and replicas catch up by scans.</summary>
    [Property(Arbitrary = [typeof(Arbs)], MaxTest = 200)]
    public void ReplicasWithBoundedLogs_ExchangingDiffsOrScansInAnyOrder_Converge_AndLoseNoWrite(Step[] steps) => Exchange(steps, 200);

    private static void Exchange(Step[] steps, long logBytesLimit)
    {
        var time = new ManualTime();
        var stores = Enumerable.Range(0, Replicas).Select(i =>
        {
            var store = new ReplicaStore(time, logBytesLimit: logBytesLimit);
            store.StartIncarnation(i);
            return store;
        }).ToArray();
        var written = new List<(string Key, long Origin, long Seq)>();
        var seen = new List<(string Key, StoredVersion Version)>();
        var queue = new List<Queued>();
        foreach (var step in steps)
        {
            switch (step)
            {
                case WriteStep w:
                    time.Now = time.Now.AddMilliseconds(w.ClockAdvanceMs);
                    var key = Keys[w.Key];
                    if (w.Delete && stores[w.Replica].Get(key) is null) break;
                    var stored = stores[w.Replica].Write(key, w.Delete ? null : $"{w.Replica}:{written.Count}", DependencySet.Empty, w.Replica);
                    var origin = stores[w.Replica].Origin;
                    written.Add((key, origin, stored.Clock[origin]));
                    seen.Add((key, stored));
                    break;
                case SendStep s:
                    if (Next(stores[s.From], stores[s.To], s.Budget) is { } batch) queue.Add(new Queued(s.To, batch));
                    break;
                case DeliverStep d when queue.Count > 0:
                    var i = d.Pick % queue.Count;
                    var q = queue[i];
                    if (!d.KeepCopy) queue.RemoveAt(i);
                    Deliver(stores, q);
                    break;
            }
        }
        // Whatever is still in flight may arrive too, in any order, before the final anti-entropy.
        foreach (var q in queue.AsEnumerable().Reverse()) Deliver(stores, q);
        ExchangeUntilQuiet(stores);

        var keys = stores.SelectMany(s => s.All.Select(kv => kv.Key)).Distinct().ToList();
        foreach (var k in keys)
        {
            var first = stores[0].Get(k);
            Assert.NotNull(first);
            foreach (var other in stores.Skip(1))
                Assert.True(first!.SameStateAs(other.Get(k)!), $"replicas disagree on '{k}': {Show.Version(first)} vs {Show.Version(other.Get(k)!)}");
        }
        var frontier = stores[0].AppliedSnapshot();
        foreach (var other in stores.Skip(1))
            Assert.Equal(frontier.OrderBy(kv => kv.Key), other.AppliedSnapshot().OrderBy(kv => kv.Key));
        foreach (var (k, origin, seq) in written)
            Assert.True(stores[0].Get(k)!.Clock[origin] >= seq, $"write {origin}:{seq} to '{k}' is not in the final version");
        // The tie-break is consistent with causality: a version that includes another never ranks below it.
        seen.AddRange(keys.Select(k => (k, stores[0].Get(k)!)));
        foreach (var (k, u) in seen)
            foreach (var (k2, v) in seen)
                if (k == k2 && v.Clock.Dominates(u.Clock))
                    Assert.True(v.Tag >= u.Tag, $"{Show.Version(v)} includes {Show.Version(u)} but ranks below it");
    }

    private static void Deliver(ReplicaStore[] stores, Queued q) =>
        stores[q.To].Apply(q.Batch.Ranges, q.Batch.Versions, q.Batch.SnapshotApplied);

    /// <summary>A diff from the log, or when the log no longer reaches back, the whole scan for the receiver's frontier as one batch.</summary>
    private static OutgoingBatch? Next(ReplicaStore from, ReplicaStore to, int budget)
    {
        var diff = from.Diff(to.AppliedSnapshot(), budget);
        if (diff is not { NeedsSnapshot: true }) return diff;
        var (versions, applied) = from.BeginSnapshot(to.AppliedSnapshot());
        var lacking = new List<KeyValuePair<string, StoredVersion>>();
        using (versions)
            while (versions.MoveNext()) lacking.Add(versions.Current);
        return new OutgoingBatch([], lacking, applied, false);
    }

    private static void ExchangeUntilQuiet(ReplicaStore[] stores)
    {
        for (var round = 0; round < 1000; round++)
        {
            var moved = false;
            for (var from = 0; from < stores.Length; from++)
                for (var to = 0; to < stores.Length; to++)
                {
                    if (from == to) continue;
                    if (Next(stores[from], stores[to], 64) is not { } batch) continue;
                    stores[to].Apply(batch.Ranges, batch.Versions, batch.SnapshotApplied);
                    moved = true;
                }
            if (!moved) return;
        }
        Assert.Fail("replicas kept finding writes to send each other after 1000 rounds");
    }
}
