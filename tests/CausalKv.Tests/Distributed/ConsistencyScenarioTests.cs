using System.Net;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// The scenarios of consistency.md, on two replicas 0 and 1 of one shard cut off
/// from each other by fault injection, each with its own keys.
/// </summary>
[Collection(ReplicaPairCollection.Name)]
public sealed class ConsistencyScenarioTests(ReplicaPairFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Waits = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan AfterHeal = TimeSpan.FromSeconds(10);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";

    private HttpClient N0 => cluster.Node(0);
    private HttpClient N1 => cluster.Node(1);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => cluster.App.HealAllAsync();

    [Fact]
    public async Task Alice_reading_her_own_write_on_the_cut_off_replica_waits_until_heal()
    {
        await cluster.App.CutAsync(0, 1);
        var alice = new KvSession();
        Assert.Equal(HttpStatusCode.Created, (await alice.PutAsync(N0, _p + "x", "1")).Status);

        var read = alice.GetAsync(N1, _p + "x");
        Assert.True(await Eventually.IsStillPendingAfter(read, Waits), "the read on replica 1 must wait for Alice's own write");

        await cluster.App.HealAsync(0, 1);
        var answer = await read.WaitAsync(AfterHeal);
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("1", answer.Value);
    }

    [Fact]
    public async Task Bob_and_Carol_see_causally_ordered_writes_and_never_a_false_wait()
    {
        var (x, y) = (_p + "x", _p + "y");
        await cluster.App.CutAsync(0, 1);
        var alice = new KvSession();
        await alice.PutAsync(N0, x, "1");

        var bob = new KvSession();
        Assert.Equal("1", (await bob.GetAsync(N0, x)).Value);
        var putY = bob.PutAsync(N1, y, "2");
        Assert.False(await Eventually.IsStillPendingAfter(putY, TimeSpan.FromSeconds(2)), "a write never waits for its dependencies");
        Assert.Equal(HttpStatusCode.Created, (await putY).Status);

        var carol = new KvSession();
        Assert.Equal("2", (await carol.GetAsync(N1, y)).Value);
        var carolReadsX = carol.GetAsync(N1, x);
        Assert.True(await Eventually.IsStillPendingAfter(carolReadsX, Waits), "Carol depends on x=1 through y and must wait on replica 1");

        var carol2 = new KvSession();
        Assert.Equal("1", (await carol2.GetAsync(N0, x)).Value);
        var putX = await carol2.PutAsync(N1, x, "3");
        Assert.True(putX.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"Carol's write succeeds at once: {putX.Status}");

        var bobReadsX = bob.GetAsync(N1, x);
        Assert.False(await Eventually.IsStillPendingAfter(bobReadsX, TimeSpan.FromSeconds(2)), "x=3 was written after x=1, so it satisfies Bob at once");
        Assert.Equal("3", (await bobReadsX).Value);

        await cluster.App.HealAsync(0, 1);
        Assert.Equal("3", (await carolReadsX.WaitAsync(AfterHeal)).Value);
        await Eventually.HoldsAsync(async () =>
            (await new KvSession().GetAsync(N0, x)).Value == "3", AfterHeal, "replica 0 converges to x=3");
    }

    [Fact]
    public async Task A_dependency_on_another_key_never_blocks_a_single_key_read()
    {
        var (x, y) = (_p + "x", _p + "y");
        var session = new KvSession();
        await session.PutAsync(N0, x, "x0");
        await session.PutAsync(N0, y, "old");
        await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(N1, y)).Value == "old", AfterHeal, "both replicas hold x and the old y");

        await cluster.App.CutAsync(0, 1);
        await session.PutAsync(N0, y, "new");

        var readX = session.GetAsync(N1, x);
        Assert.False(await Eventually.IsStillPendingAfter(readX, TimeSpan.FromSeconds(2)), "only y is missing on replica 1, so x answers at once");
        Assert.Equal("x0", (await readX).Value);
        var readY = session.GetAsync(N1, y);
        Assert.True(await Eventually.IsStillPendingAfter(readY, Waits), "y must wait");

        await cluster.App.HealAsync(0, 1);
        Assert.Equal("new", (await readY.WaitAsync(AfterHeal)).Value);
        foreach (var node in new[] { N0, N1 })
        {
            Assert.Equal("x0", (await new KvSession().GetAsync(node, x)).Value);
            Assert.Equal("new", (await new KvSession().GetAsync(node, y)).Value);
        }
    }

    [Fact]
    public async Task Concurrent_writes_only_the_read_the_missing_write_could_change_waits()
    {
        var x = _p + "x";
        var (alice, bob) = await ConcurrentWritesAsync(x);

        var aliceOn1 = alice.GetAsync(N1, x);
        var bobOn0 = bob.GetAsync(N0, x);
        // Exactly one of the two answers: the reader whose own write loses the tie-break gets the winner at once.
        var first = await Task.WhenAny(aliceOn1, bobOn0).WaitAsync(TimeSpan.FromSeconds(10));
        var other = first == aliceOn1 ? bobOn0 : aliceOn1;
        Assert.True(await Eventually.IsStillPendingAfter(other, Waits), "the reader whose own write wins must wait for it");
        var answer = await first;
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        var winner = answer.Value!;
        Assert.Equal(first == aliceOn1 ? "2" : "1", winner); // the answered reader got the other session's write

        await cluster.App.HealAsync(0, 1);
        Assert.Equal(winner, (await other.WaitAsync(AfterHeal)).Value);
        foreach (var node in new[] { N0, N1 })
            await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(node, x)).Value == winner, AfterHeal,
                "every replica converges to the version the early read returned");
        foreach (var (session, node) in new[] { (alice, N0), (alice, N1), (bob, N0), (bob, N1) })
            Assert.Equal(winner, (await session.GetAsync(node, x)).Value);
    }

    [Fact]
    public async Task Concurrent_writes_through_the_router_the_session_whose_write_lost_never_waits()
    {
        var x = _p + "x";
        var (alice, bob) = await ConcurrentWritesAsync(x);
        var aliceWins = Tag(alice, x).CompareTo(Tag(bob, x)) > 0;
        var (loser, winnerValue) = aliceWins ? (bob, "1") : (alice, "2");

        // The router sends each read to either replica. Wherever it lands, the loser's dependency cannot change the
        // answer: its own replica holds its write, the other holds the winner. So no read waits.
        for (var i = 0; i < 10; i++)
        {
            var read = new KvSession { Metadata = loser.Metadata!.DeepClone() }.GetAsync(cluster.Router, x);
            Assert.False(await Eventually.IsStillPendingAfter(read, TimeSpan.FromSeconds(5)), $"read {i} of the session whose write lost waited");
            Assert.Equal(HttpStatusCode.OK, (await read).Status);
        }

        await cluster.App.HealAsync(0, 1);
        foreach (var session in new[] { alice, bob })
            await Eventually.HoldsAsync(async () => (await session.GetAsync(cluster.Router, x)).Value == winnerValue, AfterHeal,
                "after the heal every read through the router returns the winner");
    }

    /// <summary>Cuts replicas 0 and 1 apart; Alice writes <paramref name="key"/>=1 on 0 and Bob writes it =2 on 1.</summary>
    private async Task<(KvSession Alice, KvSession Bob)> ConcurrentWritesAsync(string key)
    {
        await cluster.App.CutAsync(0, 1);
        var alice = new KvSession();
        var bob = new KvSession();
        Assert.Equal(HttpStatusCode.Created, (await alice.PutAsync(N0, key, "1")).Status);
        Assert.Equal(HttpStatusCode.Created, (await bob.PutAsync(N1, key, "2")).Status);
        return (alice, bob);
    }

    private static (long Timestamp, int Node) Tag(KvSession session, string key)
    {
        var t = session.Metadata!["d"]![key]!["t"]!.AsArray();
        return (t[0]!.GetValue<long>(), t[1]!.GetValue<int>());
    }

    [Fact]
    public async Task Concurrent_writes_a_whole_shard_read_waits_only_for_a_write_that_could_change_it()
    {
        var x = _p + "x";
        var (alice, bob) = await ConcurrentWritesAsync(x);

        var aliceAll = alice.GetAllAsync(N1);
        var bobAll = bob.GetAllAsync(N0);
        var first = await Task.WhenAny(aliceAll, bobAll).WaitAsync(TimeSpan.FromSeconds(10));
        var other = first == aliceAll ? bobAll : aliceAll;
        Assert.True(await Eventually.IsStillPendingAfter(other, Waits), "the whole-shard read that lacks the winning write waits");
        var winner = (await first).Body["items"]![x]!.GetValue<string>();
        Assert.Equal(first == aliceAll ? "2" : "1", winner);

        await cluster.App.HealAsync(0, 1);
        Assert.Equal(winner, (await other.WaitAsync(AfterHeal)).Body["items"]![x]!.GetValue<string>());
    }

    [Fact]
    public async Task Concurrent_writes_to_one_key_resolve_identically_and_the_survivor_satisfies_both_sessions()
    {
        var k = _p + "k";
        await cluster.App.CutAsync(0, 1);
        var left = new KvSession();
        var right = new KvSession();
        await left.PutAsync(N0, k, "left");
        await right.PutAsync(N1, k, "right");
        for (var i = 0; i < 20; i++) await new KvSession().PutAsync(i % 2 == 0 ? N0 : N1, $"{_p}bulk{i}", $"v{i}");

        await cluster.App.HealAsync(0, 1);
        await Eventually.HoldsAsync(async () =>
        {
            var d0 = await N0.GetStringAsync("/admin/digest");
            var d1 = await N1.GetStringAsync("/admin/digest");
            return d0 == d1;
        }, AfterHeal, "both replicas hold the same state");

        var survivor0 = (await new KvSession().GetAsync(N0, k)).Value;
        var survivor1 = (await new KvSession().GetAsync(N1, k)).Value;
        Assert.Equal(survivor0, survivor1);
        Assert.Contains(survivor0, new[] { "left", "right" });
        // Each session saw one of the two writes; the survivor's clock covers both, so neither waits.
        foreach (var (session, node) in new[] { (left, N1), (right, N0) })
        {
            var read = session.GetAsync(node, k);
            Assert.False(await Eventually.IsStillPendingAfter(read, TimeSpan.FromSeconds(2)));
            Assert.Equal(survivor0, (await read).Value);
        }
    }
}
