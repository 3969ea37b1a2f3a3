using CausalKv.Causality;

namespace CausalKv.Tests.Replication;

/// <summary>
/// The key logs of a replica stay within their bound however many writes a peer misses, and that peer, when it is
/// back, still gets exactly what it lacks: from the log while the log reaches back to its frontier, else by a scan of
/// the store that sends the versions with a dot above its frontier and nothing else.
/// </summary>
public sealed class ReplicationLogBoundTests
{
    private const long Limit = 64 * 1024;

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static ReplicaStore Replica(int node, TimeProvider time, long limit = Limit)
    {
        var store = new ReplicaStore(time, logBytesLimit: limit);
        store.StartIncarnation(node);
        return store;
    }

    /// <summary>What a peer link does: log diffs while they reach back, else a filtered scan paged by the budget.</summary>
    private static (int Versions, bool Scanned, HashSet<string> Keys) CatchUp(ReplicaStore from, ReplicaStore to, int budget)
    {
        var sent = 0;
        var scanned = false;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var round = 0; round < 100_000; round++)
        {
            var diff = from.Diff(to.AppliedSnapshot(), budget);
            if (diff is null) return (sent, scanned, keys);
            if (!diff.NeedsSnapshot)
            {
                to.Apply(diff.Ranges, diff.Versions, null);
                sent += diff.Versions.Count;
                keys.UnionWith(diff.Versions.Select(v => v.Key));
                continue;
            }
            scanned = true;
            var (versions, applied) = from.BeginSnapshot(to.AppliedSnapshot());
            using (versions)
            {
                var more = true;
                while (more)
                {
                    var page = new List<KeyValuePair<string, StoredVersion>>();
                    while (page.Count < budget && (more = versions.MoveNext())) page.Add(versions.Current);
                    to.Apply([], page, more ? null : applied);
                    sent += page.Count;
                    keys.UnionWith(page.Select(v => v.Key));
                }
            }
        }
        Assert.Fail("the catch-up did not end");
        return default;
    }

    [Fact]
    public void A_peer_away_for_many_writes_costs_no_more_than_the_bound_and_gets_exactly_what_it_lacks_when_back()
    {
        var time = new ManualTime();
        var live = Replica(0, time);
        var away = Replica(1, time);
        for (var i = 0; i < 100; i++) live.Write($"old{i}", "v", DependencySet.Empty, 0);
        CatchUp(live, away, 64);

        // The peer is away: 20,000 new keys and 20,000 rewrites of one key, the stable frontier stuck where it was.
        long highest = 0;
        for (var i = 0; i < 20_000; i++)
        {
            time.Now = time.Now.AddMilliseconds(1);
            live.Write($"new{i}", "v", DependencySet.Empty, 0);
            live.Write("hot", $"v{i}", DependencySet.Empty, 0);
            live.TrimLogs(away.AppliedSnapshot());
            highest = Math.Max(highest, live.LogBytes);
        }
        Assert.True(highest <= Limit, $"the logs took {highest} bytes, over their bound of {Limit}");
        Assert.Equal(40_000, live.LogEntries + live.LogEntriesShed); // all but those the peer held were kept or shed

        var (versions, scanned, keys) = CatchUp(live, away, 500);

        Assert.True(scanned, "the log no longer reached back to the peer's frontier, so it was served by a scan");
        Assert.Equal(20_001, versions);
        Assert.DoesNotContain(keys, k => k.StartsWith("old", StringComparison.Ordinal));
        Assert.Equal(live.AppliedSnapshot().OrderBy(kv => kv.Key), away.AppliedSnapshot().OrderBy(kv => kv.Key));
        foreach (var (key, version) in live.All)
            Assert.True(version.SameStateAs(away.Get(key)!), $"'{key}' differs after the catch-up");
    }

    [Fact]
    public void A_peer_in_touch_keeps_getting_diffs_from_the_log_while_another_is_away()
    {
        var time = new ManualTime();
        var live = Replica(0, time, limit: 8 * 1024);
        var near = Replica(1, time);
        var away = Replica(2, time);
        for (var i = 0; i < 5_000; i++)
        {
            time.Now = time.Now.AddMilliseconds(1);
            live.Write($"k{i % 700}", $"v{i}", DependencySet.Empty, 0);
            if (i % 10 == 9)
            {
                var diff = live.Diff(near.AppliedSnapshot(), 64);
                Assert.NotNull(diff);
                Assert.False(diff.NeedsSnapshot, $"the peer in touch was sent to a scan after write {i}");
                near.Apply(diff.Ranges, diff.Versions, null);
            }
            // The stable frontier is the minimum of the three: the peer away holds nothing.
            live.TrimLogs(Frontier.Minimum([live.AppliedSnapshot(), near.AppliedSnapshot(), away.AppliedSnapshot()]));
            Assert.True(live.LogBytes <= 8 * 1024);
        }

        var (versions, scanned, _) = CatchUp(live, away, 100);

        Assert.True(scanned);
        Assert.Equal(700, versions);
        Assert.Equal(live.AppliedSnapshot().OrderBy(kv => kv.Key), away.AppliedSnapshot().OrderBy(kv => kv.Key));
        foreach (var (key, version) in live.All)
            Assert.True(version.SameStateAs(away.Get(key)!), $"'{key}' differs after the catch-up");
    }

    [Fact]
    public void A_peer_within_the_log_is_caught_up_from_the_log_not_by_a_scan()
    {
        var time = new ManualTime();
        var live = Replica(0, time);
        var peer = Replica(1, time);
        for (var i = 0; i < 300; i++) live.Write($"k{i}", "v", DependencySet.Empty, 0);

        var (versions, scanned, _) = CatchUp(live, peer, 64);

        Assert.False(scanned);
        Assert.Equal(300, versions);
        Assert.Equal(0, live.LogEntriesShed);
    }

    [Fact]
    public void A_scan_for_a_peer_that_lacks_nothing_sends_nothing_and_claims_the_frontier()
    {
        var time = new ManualTime();
        var live = Replica(0, time);
        var peer = Replica(1, time);
        for (var i = 0; i < 50; i++) live.Write($"k{i}", "v", DependencySet.Empty, 0);
        CatchUp(live, peer, 64);

        var (versions, applied) = live.BeginSnapshot(peer.AppliedSnapshot());
        using (versions) Assert.False(versions.MoveNext());
        Assert.Equal(live.AppliedSnapshot(), applied);
    }
}
