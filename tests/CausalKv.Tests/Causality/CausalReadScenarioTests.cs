using CausalKv.Causality;

namespace CausalKv.Tests.Causality;

/// <summary>
/// The "Scenarios that must hold" of design/consistency.md, on two in-memory
/// replicas of one shard that are cut off from each other. A write is
/// <see cref="StoredVersion.NewWrite"/> on the accepting replica; replication is a
/// <see cref="StoredVersion.Merge"/> of the other replica's version; a read may
/// answer only when <see cref="CausalRead.Missing"/> is null.
/// </summary>
public sealed class CausalReadScenarioTests
{
    internal sealed class Replica(int nodeId, long incarnation)
    {
        public readonly int NodeId = nodeId;
        public readonly long Origin = OriginId.Create(nodeId, incarnation);
        public readonly Dictionary<string, StoredVersion> Store = new(StringComparer.Ordinal);
        private long _seq;

        /// <summary>This replica's wall clock in ms (tests skew it on purpose).</summary>
        public long NowMs;

        public StoredVersion? Get(string key) => Store.GetValueOrDefault(key);

        /// <summary>Accept a write at once (availability): no look at anything the session depends on.</summary>
        public StoredVersion Write(Session s, string key, string? value)
        {
            var local = Get(key);
            var v = StoredVersion.NewWrite(key, value, local, s.Deps, Origin, ++_seq, NodeId, NowMs);
            Assert.True(StoredVersion.Merge(local, v).SameStateAs(v), "a new write must replace the local version");
            Store[key] = v;
            s.Deps = CausalRead.AfterWriting(s.Deps, key, v, new VersionVector.Entry(Origin, _seq));
            return v;
        }

        public Read Read(Session s, string key)
        {
            var local = Get(key);
            var missing = CausalRead.Missing(key, s.Deps, local);
            if (missing is not null) return new Read(true, missing, null);
            if (local is not null) s.Deps = CausalRead.AfterObserving(s.Deps, key, local);
            return new Read(false, null, local?.Value);
        }

        public void ReceiveFrom(Replica other, string key)
        {
            if (other.Get(key) is { } theirs) Store[key] = StoredVersion.Merge(Get(key), theirs);
        }
    }

    internal sealed class Session(string name)
    {
        public readonly string Name = name;
        public DependencySet Deps = DependencySet.Empty;
        public override string ToString() => $"{Name} {Show.Deps(Deps)}";
    }

    internal readonly record struct Read(bool Waits, Dependency? Missing, string? Value);

    internal sealed class Cluster
    {
        public readonly Replica R0 = new(0, 5000) { NowMs = 1_000 };
        public readonly Replica R1 = new(1, 6000) { NowMs = 1_000 };

        /// <summary>Both replicas merge each other's version of every key (the two merge orders differ).</summary>
        public void Heal()
        {
            foreach (var key in R0.Store.Keys.Union(R1.Store.Keys).ToList())
            {
                var (a, b) = (R0.Get(key), R1.Get(key));
                if (b is not null) R0.Store[key] = StoredVersion.Merge(a, b);
                if (a is not null) R1.Store[key] = StoredVersion.Merge(b, a);
            }
        }

        /// <summary>Both replicas write/receive a key before the cut (so both hold it).</summary>
        public void Seed(Replica writer, string key, string value)
        {
            writer.Write(new Session("seed"), key, value);
            (writer == R0 ? R1 : R0).ReceiveFrom(writer, key);
        }
    }

    private static void AssertAnswers(Read r, string? expected, string what)
    {
        Assert.False(r.Waits, $"{what}: must answer at once, but waits for {(r.Missing is null ? "?" : Show.Dep(r.Missing))}");
        Assert.Equal(expected, r.Value);
    }

    private static void AssertWaits(Read r, string what)
    {
        Assert.True(r.Waits, $"{what}: must wait, but answered '{r.Value}'");
        Assert.NotNull(r.Missing);
    }

    internal sealed record Pending(Session Session, Replica Replica, string Key, string Expected);

    // ---------------- Alice ----------------

    internal static (Cluster, List<Pending>) Alice(bool replicasHadOlderX)
    {
        var c = new Cluster();
        if (replicasHadOlderX) c.Seed(c.R1, "x", "0");
        var alice = new Session("alice");

        var w = c.R0.Write(alice, "x", "1");
        var onR1 = c.R1.Read(alice, "x");
        AssertWaits(onR1, "Alice reads x on 1 (1 lacks her own write)");
        // What it waits for is her write: its dot (AfterWriting), which only a version including the write holds.
        Assert.Equal(w.Tag, onR1.Missing!.Tag);
        Assert.True(w.Clock.Dominates(onR1.Missing.Clock));
        AssertAnswers(c.R0.Read(alice, "x"), "1", "Alice reads x on 0");
        return (c, [new Pending(alice, c.R1, "x", "1")]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // 1 holds an older x: it must still wait, never answer the stale "0"
    public void Scenario_Alice_ReadsHerOwnWriteOnTheOtherReplica_Waits(bool replicasHadOlderX) => Alice(replicasHadOlderX);

    // ---------------- Bob / Carol ----------------

    internal static (Cluster, List<Pending>) BobAndCarol()
    {
        var c = new Cluster();
        c.R0.NowMs = 2_000;
        c.R1.NowMs = 500; // replica 1's clock is far behind: causality must not rely on wall clocks
        var alice = new Session("alice");
        var x1 = c.R0.Write(alice, "x", "1");

        var bob = new Session("bob");
        AssertAnswers(c.R0.Read(bob, "x"), "1", "Bob reads x on 0");
        var y2 = c.R1.Write(bob, "y", "2"); // succeeds at once though 1 lacks x=1
        Assert.Null(c.R1.Get("x"));
        Assert.Equal("2", c.R1.Get("y")!.Value);
        Assert.Same(y2, c.R1.Get("y"));

        var carol = new Session("carol");
        AssertAnswers(c.R1.Read(carol, "y"), "2", "Carol reads y on 1");
        var carolX = c.R1.Read(carol, "x");
        AssertWaits(carolX, "Carol reads x on 1 (depends on x=1 through y)");
        Assert.True(carolX.Missing!.Clock.Dominates(x1.Clock), "what Carol waits for is Alice's x=1");

        AssertAnswers(c.R0.Read(carol, "x"), "1", "Carol reads x on 0");
        var x3 = c.R1.Write(carol, "x", "3"); // succeeds; 1 still never received x=1
        Assert.Equal("3", c.R1.Get("x")!.Value);
        Assert.True(x3.Tag > x1.Tag, "x=3 was written after x=1 was seen, so it must be ordered after it despite the slow clock");

        AssertAnswers(c.R1.Read(bob, "x"), "3", "Bob reads x on 1 (3 satisfies his dependency on 1)");
        AssertAnswers(c.R1.Read(carol, "x"), "3", "Carol reads her own x=3 on 1");
        var bobOn0 = c.R0.Read(bob, "x");
        AssertWaits(bobOn0, "Bob, having seen x=3, reads x on 0 (which only has x=1)");

        // Carol's x=3 beats x=1 in both merge orders, and the survivor covers both.
        foreach (var m in new[] { StoredVersion.Merge(x1, x3), StoredVersion.Merge(x3, x1) })
        {
            Assert.Equal("3", m.Value);
            Assert.True(m.Clock.Dominates(x1.Clock) && m.Clock.Dominates(x3.Clock));
        }
        return (c, [
            new Pending(bob, c.R0, "x", "3"),
            new Pending(carol, c.R0, "x", "3"),
            new Pending(carol, c.R0, "y", "2"),
        ]);
    }

    [Fact]
    public void Scenario_BobAndCarol_TransitiveDependency_WaitsThenNewerWriteSatisfies() => BobAndCarol();

    [Fact]
    public void Scenario_BobAndCarol_X3BeatsX1_OnBothReplicas_InBothMergeOrders()
    {
        var (c, _) = BobAndCarol();
        var x1 = c.R0.Get("x")!;
        var x3 = c.R1.Get("x")!;
        c.R0.ReceiveFrom(c.R1, "x"); // 0 merges (x1, x3)
        c.R1.ReceiveFrom(c.R0, "x"); // 1 merges (x3, merged)
        Assert.Equal("3", c.R0.Get("x")!.Value);
        Assert.Equal("3", c.R1.Get("x")!.Value);
        Assert.True(c.R0.Get("x")!.SameStateAs(c.R1.Get("x")!));
        Assert.True(StoredVersion.Merge(x1, x3).SameStateAs(StoredVersion.Merge(x3, x1)));
    }

    // ---------------- the session writing y while cut off ----------------

    internal static (Cluster, List<Pending>) WriteYWhileCutOff()
    {
        var c = new Cluster();
        c.Seed(c.R0, "x", "x-old");
        c.Seed(c.R1, "y", "y-old");
        // cut off from here on
        var s = new Session("s");
        AssertAnswers(c.R0.Read(s, "x"), "x-old", "session reads x on 0 (a dependency on x that 1 satisfies)");
        c.R0.Write(s, "y", "y-new");

        AssertAnswers(c.R1.Read(s, "x"), "x-old", "session reads x on 1 (only y is missing)");
        var y = c.R1.Read(s, "y");
        AssertWaits(y, "session reads y on 1");
        Assert.Equal(c.R0.Get("y")!.Tag, y.Missing!.Tag);
        Assert.True(c.R0.Get("y")!.Clock.Dominates(y.Missing.Clock));

        // whole-shard read on 1 waits for y; on 0 it answers
        var shard = CausalRead.MissingInShard(s.Deps, _ => true, c.R1.Get);
        Assert.NotNull(shard);
        Assert.Equal("y", shard!.Value.Key);
        Assert.Null(CausalRead.MissingInShard(s.Deps, _ => true, c.R0.Get));
        return (c, [new Pending(s, c.R1, "y", "y-new")]);
    }

    [Fact]
    public void Scenario_WriteYWhileCutOff_ReadXAnswers_ReadYWaits() => WriteYWhileCutOff();

    // ---------------- after heal ----------------

    [Fact]
    public void Scenario_AfterHeal_EveryWaitingReadAnswers_AndReplicasAgree()
    {
        var scenarios = new[] { Alice(false), Alice(true), BobAndCarol(), WriteYWhileCutOff() };
        foreach (var (c, pending) in scenarios)
        {
            Assert.NotEmpty(pending);
            foreach (var p in pending) AssertWaits(p.Replica.Read(p.Session, p.Key), $"{p.Session.Name} before heal");
            c.Heal();
            foreach (var p in pending) AssertAnswers(p.Replica.Read(p.Session, p.Key), p.Expected, $"{p.Session.Name} reads {p.Key} after heal");
            foreach (var key in new[] { "x", "y" })
            {
                var (a, b) = (c.R0.Get(key), c.R1.Get(key));
                Assert.Equal(a is null, b is null);
                if (a is not null) Assert.True(a.SameStateAs(b!), $"replicas disagree on {key}: {Show.Version(a)} vs {Show.Version(b!)}");
            }
            foreach (var p in pending)
                Assert.Null(CausalRead.MissingInShard(p.Session.Deps, _ => true, p.Replica.Get));
        }
    }

    // ---------------- no false waits, whole-shard reads ----------------

    [Fact]
    public void NoFalseWaits_DependencyOnOtherKeys_NeverBlocksSingleKeyRead()
    {
        var c = new Cluster();
        c.Seed(c.R1, "x", "x0");
        var s = new Session("s");
        foreach (var k in new[] { "a", "b", "z" }) c.R0.Write(s, k, k + "1"); // none of these reached 1
        AssertAnswers(c.R1.Read(s, "x"), "x0", "read of x on 1 with dependencies on a, b, z only");
        // a key 1 has never heard of and the session does not depend on: answers "not found" at once
        AssertAnswers(c.R1.Read(s, "never-written"), null, "read of an unknown key");
        AssertWaits(c.R1.Read(s, "z"), "read of z on 1");
    }

    [Fact]
    public void Missing_ReturnsNull_WithoutDependency_AndForEmptyClock()
    {
        var v = new StoredVersion("v", new WriteTag(1, 0), VersionVector.Of(new VersionVector.Entry(7, 1)), DependencySet.Empty);
        Assert.Null(CausalRead.Missing("x", DependencySet.Empty, null));
        Assert.Null(CausalRead.Missing("x", DependencySet.Empty, v));
        var dep = new Dependency(VersionVector.Of(new VersionVector.Entry(7, 2)), new WriteTag(2, 0));
        var session = DependencySet.Empty.With("x", dep);
        Assert.Equal(dep, CausalRead.Missing("x", session, v));
        Assert.Equal(dep, CausalRead.Missing("x", session, null));
        Assert.Null(CausalRead.Missing("y", session, null));
        Assert.Null(CausalRead.Missing("x", session, v with { Clock = VersionVector.Of(new VersionVector.Entry(7, 2)) }));
        Assert.Null(CausalRead.Missing("x", session, v with { Clock = VersionVector.Of(new VersionVector.Entry(7, 9)) }));
        // a concurrent version that lacks the dependency's dot but wins the tie-break is what every replica converges to
        Assert.Null(CausalRead.Missing("x", session,
            new StoredVersion("other", new WriteTag(99, 1), VersionVector.Of(new VersionVector.Entry(8, 5)), DependencySet.Empty)));
        // one that loses it (a lower timestamp, or the same timestamp from a lower node) could be replaced: the read waits
        Assert.Equal(dep, CausalRead.Missing("x", session,
            new StoredVersion("other", new WriteTag(1, 1), VersionVector.Of(new VersionVector.Entry(8, 5)), DependencySet.Empty)));
        var fromNode1 = DependencySet.Empty.With("x", dep with { Tag = new WriteTag(2, 1) });
        Assert.NotNull(CausalRead.Missing("x", fromNode1,
            new StoredVersion("other", new WriteTag(2, 0), VersionVector.Of(new VersionVector.Entry(8, 5)), DependencySet.Empty)));
        Assert.Null(CausalRead.Missing("x", session,
            new StoredVersion("other", new WriteTag(2, 1), VersionVector.Of(new VersionVector.Entry(8, 5)), DependencySet.Empty)));
    }

    [Theory]
    [InlineData(1_000, 1_000)] // same millisecond: the node id breaks the tie (replica 1 wins)
    [InlineData(1_000, 1_001)] // replica 1's clock is ahead
    [InlineData(1_005, 1_000)] // replica 0's clock is ahead
    public void Scenario_ConcurrentWrites_OnlyTheSessionWhoseWriteLosesTheTieBreakWaits(long now0, long now1)
    {
        var c = new Cluster();
        c.R0.NowMs = now0;
        c.R1.NowMs = now1;
        var alice = new Session("alice");
        var bob = new Session("bob");
        var a = c.R0.Write(alice, "x", "1");
        var b = c.R1.Write(bob, "x", "2");
        var aliceWins = a.Tag > b.Tag;
        var winner = aliceWins ? "1" : "2";

        var aliceOn1 = c.R1.Read(alice, "x");
        var bobOn0 = c.R0.Read(bob, "x");
        // Exactly one waits: the session whose own write wins reads, on the other replica, a version its missing
        // write would replace. The session whose write loses gets the winner at once: its own write cannot change it.
        Assert.Equal(aliceWins, aliceOn1.Waits);
        Assert.Equal(!aliceWins, bobOn0.Waits);
        Assert.Equal(winner, (aliceWins ? bobOn0 : aliceOn1).Value);

        // The session that got the winner at once now depends on both writes, so the replica holding only its own
        // (losing) write waits too; at the winner's replica everybody answers.
        var (loserSession, loserReplica, winnerReplica) = aliceWins ? (bob, c.R1, c.R0) : (alice, c.R0, c.R1);
        AssertWaits(loserReplica.Read(loserSession, "x"), "the loser's session back on its own replica");
        AssertAnswers(winnerReplica.Read(alice, "x"), winner, "Alice on the winner's replica");
        AssertAnswers(winnerReplica.Read(bob, "x"), winner, "Bob on the winner's replica");

        c.Heal();
        foreach (var (s, r) in new[] { (alice, c.R0), (alice, c.R1), (bob, c.R0), (bob, c.R1) })
            AssertAnswers(r.Read(s, "x"), winner, $"{s.Name} reads x on replica {r.NodeId} after the heal");
        AssertAnswers(c.R0.Read(new Session("new"), "x"), winner, "a new session");
    }

    [Fact]
    public void MissingInShard_DoesNotWaitForAMissingWriteThatLosesTheTieBreak()
    {
        var c = new Cluster();
        c.R0.NowMs = 1_000;
        c.R1.NowMs = 2_000;
        var s = new Session("s");
        c.R0.Write(s, "x", "old-on-0");
        var other = new Session("other");
        c.R1.Write(other, "x", "newer-on-1");
        Assert.Null(CausalRead.MissingInShard(s.Deps, _ => true, c.R1.Get));
        Assert.NotNull(CausalRead.MissingInShard(other.Deps, _ => true, c.R0.Get));
    }

    [Fact]
    public void MissingInShard_IgnoresKeysOfOtherShards_AndFindsAnyMissingKeyOfThisShard()
    {
        var c = new Cluster();
        c.Seed(c.R0, "x", "x0");
        var s = new Session("s");
        c.R0.Write(s, "other-shard-key", "o"); // pretend it belongs to another shard
        Func<string, bool> owned = k => k != "other-shard-key";
        Assert.Null(CausalRead.MissingInShard(s.Deps, owned, c.R1.Get));
        Assert.NotNull(CausalRead.MissingInShard(s.Deps, _ => true, c.R1.Get));

        c.R0.Write(s, "q", "q1");
        var missing = CausalRead.MissingInShard(s.Deps, owned, c.R1.Get);
        Assert.NotNull(missing);
        Assert.Equal("q", missing!.Value.Key);
        Assert.Equal(c.R0.Get("q")!.Clock, missing.Value.Value.Clock);
        // the single-key read of x on 1 is not blocked by q
        AssertAnswers(c.R1.Read(s, "x"), "x0", "read of x on 1");
        c.R1.ReceiveFrom(c.R0, "q");
        Assert.Null(CausalRead.MissingInShard(s.Deps, owned, c.R1.Get));
    }

    [Fact]
    public void Delete_IsAWriteThatReadsMustWaitFor()
    {
        var c = new Cluster();
        c.Seed(c.R0, "x", "x0");
        var s = new Session("s");
        var del = c.R0.Write(s, "x", null);
        Assert.True(del.IsDeleted);
        AssertWaits(c.R1.Read(s, "x"), "read of deleted x on 1 that still has x0");
        c.R1.ReceiveFrom(c.R0, "x");
        AssertAnswers(c.R1.Read(s, "x"), null, "read of deleted x on 1 after replication");
    }

    [Fact]
    public void AfterWriting_NamesTheWritesDotAlone_AndWaitsExactlyAsTheWholeClockWould()
    {
        var c = new Cluster();
        var s = new Session("s");
        c.R1.Write(new Session("other"), "x", "1");
        c.R0.ReceiveFrom(c.R1, "x");
        var x2 = c.R0.Write(s, "x", "2");
        Assert.Equal(2, x2.Clock.Count);
        var dep = s.Deps["x"]!;
        Assert.Equal(1, dep.Clock.Count);
        Assert.Equal(x2.Tag, dep.Tag);
        Assert.True(dep.IsSatisfiedBy(x2.Clock));
        // Replica 1 holds x=1, which the write's clock includes but not the write: it waits, as for the whole clock.
        Assert.False(dep.IsSatisfiedBy(c.R1.Get("x")!.Clock));
        AssertWaits(c.R1.Read(s, "x"), "read of x on 1 before the write arrived");
        c.R1.ReceiveFrom(c.R0, "x");
        AssertAnswers(c.R1.Read(s, "x"), "2", "read of x on 1 after replication");
        // Stable once every replica holds the dot, whatever the clock's other entries.
        Assert.True(dep.Clock.IsCoveredBy(Frontier.Of([new(c.R0.Origin, 1)])));
    }

    [Fact]
    public void AfterObserving_CarriesTheVersionsDependencies_AndTheKeyItself()
    {
        var c = new Cluster();
        var writer = new Session("w");
        c.R0.Write(writer, "a", "1");
        var b = c.R0.Write(writer, "b", "2");
        var reader = new Session("r");
        c.R0.Read(reader, "b");
        Assert.Equal(b.AsDependency(), reader.Deps["b"]);
        Assert.Equal(c.R0.Get("a")!.Clock, reader.Deps["a"]!.Clock);
        Assert.Equal(2, reader.Deps.Count);
    }
}
