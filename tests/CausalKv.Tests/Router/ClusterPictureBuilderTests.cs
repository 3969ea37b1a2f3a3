using System.Text.Json;
using CausalKv.Protocol;
using CausalKv.Router.Cluster;
using CausalKv.Sharding;

namespace CausalKv.Tests.Router;

public sealed class ClusterPictureBuilderTests
{
    // Two shards: s0 = nodes 0, 1; s1 = nodes 2, 3. Node n at 10.0.1.n:8080.
    private static readonly ShardView View = RouterTestViews.Map(shards: 2, replicas: 2, epoch: 4).View!;

    private static ViewNode Node(int id) => View.AllNodes.Single(n => n.Id == id);

    private static Dictionary<string, long> Frontier(params (string Origin, long Seq)[] entries) =>
        entries.ToDictionary(e => e.Origin, e => e.Seq);

    private static PeerStatusReport Peer(int id, bool reachable = true, Dictionary<string, long>? applied = null) =>
        new(id, $"10.0.1.{id}:8080", reachable, reachable ? DateTimeOffset.UnixEpoch : null, applied ?? [], 0, 0, 0, 0, 0);

    private static NodeObservation Answered(int id, Dictionary<string, long> applied, PeerStatusReport[]? peers = null,
        long epoch = 4, int[]? blocked = null, Dictionary<string, long>? stable = null, int keys = 0) =>
        new(Node(id), true, true,
            new NodeStatusReport(id, View.ShardOf(id), epoch, keys, $"{id}.7", applied, stable ?? [], true, [], peers ?? [], 0, 0, 0, blocked ?? [], 0),
            null);

    private static NodeObservation Silent(int id) => new(Node(id), false, false, null, "no status within 800 ms");

    private static ReplicaPicture Replica(ClusterPicture picture, int id) =>
        picture.Shards.SelectMany(s => s.Replicas).Single(r => r.Id == id);

    [Fact]
    public void Missing_counts_per_origin_the_writes_a_peer_has_not_applied_and_never_goes_below_zero()
    {
        var mine = Frontier(("0.7", 5), ("1.7", 3), ("2.1", 4));
        var theirs = Frontier(("0.7", 2), ("2.1", 9), ("9.9", 1));

        Assert.Equal(Frontier(("0.7", 3), ("1.7", 3)), ClusterPictureBuilder.Missing(mine, theirs));
        Assert.Equal(Frontier(("2.1", 5), ("9.9", 1)), ClusterPictureBuilder.Missing(theirs, mine));
        Assert.Empty(ClusterPictureBuilder.Missing(mine, mine));
    }

    [Fact]
    public void A_peer_that_answered_is_compared_by_its_own_frontier_one_that_did_not_by_what_the_link_learned()
    {
        // Node 0 learned a gossip round ago that node 1 had 0.7:2; node 1 itself now says 0.7:4.
        var picture = ClusterPictureBuilder.Build(View, 4,
        [
            Answered(0, Frontier(("0.7", 5)), [Peer(1, applied: Frontier(("0.7", 2)))]),
            Answered(1, Frontier(("0.7", 4)), [Peer(0, applied: Frontier(("0.7", 4)))]),
            Answered(2, Frontier(("2.7", 6)), [Peer(3, applied: Frontier(("2.7", 1)))]),
            Silent(3),
        ]);

        var live = Replica(picture, 0).Peers.Single();
        Assert.True(live.PeerReported);
        Assert.Equal(Frontier(("0.7", 1)), live.Missing);
        Assert.Equal(1, live.MissingTotal);
        Assert.Equal(0, Replica(picture, 1).Peers.Single().MissingTotal);

        var learned = Replica(picture, 2).Peers.Single();
        Assert.False(learned.PeerReported);
        Assert.Equal(5, learned.MissingTotal);
    }

    [Fact]
    public void A_node_that_did_not_answer_is_shown_unreachable_in_its_place()
    {
        var picture = ClusterPictureBuilder.Build(View, 4,
            [Answered(0, [], [Peer(1)]), Silent(1), Answered(2, [], [Peer(3)]), Answered(3, [], [Peer(2)])]);

        Assert.Equal([0, 1], picture.Shards[0].Replicas.Select(r => r.Id));
        var silent = Replica(picture, 1);
        Assert.False(silent.Reachable);
        Assert.False(silent.Healthy);
        Assert.Equal("no status within 800 ms", silent.Error);
        Assert.Null(silent.Keys);
        Assert.Null(silent.Epoch);
        Assert.Empty(silent.Peers);
        Assert.Empty(silent.Applied);
        // Node 0's link says what node 1 held (nothing), so its gap is still known.
        Assert.Equal(0, Replica(picture, 0).Peers.Single().MissingTotal);
    }

    [Fact]
    public void A_node_missing_from_the_observations_is_shown_as_not_asked()
    {
        var picture = ClusterPictureBuilder.Build(View, 4, [Answered(0, [])]);

        Assert.Equal(4, picture.Nodes);
        Assert.Equal("not asked", Replica(picture, 3).Error);
        Assert.False(Replica(picture, 3).Reachable);
    }

    [Fact]
    public void A_replica_of_the_view_the_node_has_no_link_to_yet_is_listed_as_unlinked()
    {
        // Node 0 still runs epoch 3, with no link; node 1 answered, so what it lacks is known.
        var picture = ClusterPictureBuilder.Build(View, 4,
            [Answered(0, Frontier(("0.7", 2)), epoch: 3), Answered(1, [], [Peer(0)]), Silent(2), Silent(3)]);

        var replica = Replica(picture, 0);
        Assert.False(replica.OnCurrentView);
        var unlinked = Assert.Single(replica.Peers);
        Assert.Equal(1, unlinked.Id);
        Assert.False(unlinked.Linked);
        Assert.Null(unlinked.Reachable);
        Assert.Equal("10.0.1.1:8080", unlinked.Address);
        Assert.Equal(2, unlinked.MissingTotal);
        Assert.True(Replica(picture, 1).OnCurrentView);
    }

    [Fact]
    public void Without_a_peer_report_or_a_link_the_gap_is_unknown()
    {
        var picture = ClusterPictureBuilder.Build(View, 4, [Answered(0, Frontier(("0.7", 2))), Silent(1), Silent(2), Silent(3)]);

        var peer = Assert.Single(Replica(picture, 0).Peers);
        Assert.Null(peer.Missing);
        Assert.Null(peer.MissingTotal);
    }

    [Fact]
    public void Cut_links_appear_once_per_pair_with_who_blocks_and_who_cannot_reach()
    {
        var picture = ClusterPictureBuilder.Build(View, 4,
        [
            Answered(0, [], [Peer(1, reachable: false)], blocked: [1, 3]),
            Answered(1, [], [Peer(0, reachable: false)], blocked: [0]),
            Answered(2, [], [Peer(3, reachable: false)]),
            Answered(3, [], [Peer(2)]),
        ]);

        Assert.Equal(
            [new CutLink(0, 1, [0, 1], [0, 1]), new CutLink(0, 3, [0], []), new CutLink(2, 3, [], [2])],
            picture.Cuts, CutLinkComparer.Instance);
        Assert.Equal([1, 3], Replica(picture, 0).Blocked);
    }

    [Fact]
    public void Shards_count_their_fullest_replica_and_the_cluster_sums_the_shards()
    {
        var picture = ClusterPictureBuilder.Build(View, 6,
            [Answered(0, [], keys: 10), Answered(1, [], keys: 7), Answered(2, [], keys: 3), Silent(3)]);

        Assert.Equal([10L, 3L], picture.Shards.Select(s => s.Keys));
        Assert.Equal(13, picture.Keys);
        Assert.Equal(4, picture.Epoch);
        Assert.Equal(6, picture.HighestEpoch);
    }

    [Fact]
    public void Without_a_view_the_picture_is_empty()
    {
        var picture = ClusterPictureBuilder.Build(null, 0, []);

        Assert.Equal(0, picture.Epoch);
        Assert.Empty(picture.Shards);
        Assert.Empty(picture.Cuts);
    }

    [Fact]
    public void The_picture_does_not_depend_on_the_order_observations_arrive_in_and_sorts_origins_as_numbers()
    {
        var observations = new[]
        {
            Answered(0, Frontier(("10.1", 1), ("2.5", 2), ("2.10", 3)), [Peer(1, reachable: false), Peer(1, reachable: false)], blocked: [3, 1]),
            Answered(1, Frontier(("2.5", 1)), [Peer(0)]),
            Answered(2, [], [Peer(3)], stable: Frontier(("3.2", 1), ("2.9", 1))),
            Silent(3),
        };

        var forwards = Json(ClusterPictureBuilder.Build(View, 4, observations));
        var backwards = Json(ClusterPictureBuilder.Build(View, 4, observations.Reverse()));

        Assert.Equal(forwards, backwards);
        var replica = Replica(ClusterPictureBuilder.Build(View, 4, observations), 0);
        Assert.Equal(["2.5", "2.10", "10.1"], replica.Applied.Keys);
        Assert.Equal(["2.5", "2.10", "10.1"], replica.Peers.Single().Missing!.Keys);
        Assert.Equal(["2.9", "3.2"], Replica(ClusterPictureBuilder.Build(View, 4, observations), 2).Stable.Keys);
    }

    [Fact]
    public void Incarnation_comes_from_the_origin_name()
    {
        var replica = Replica(ClusterPictureBuilder.Build(View, 4, [Answered(0, [])]), 0);

        Assert.Equal("0.7", replica.Origin);
        Assert.Equal(7, replica.Incarnation);
    }

    private static string Json(ClusterPicture picture) =>
        JsonSerializer.Serialize(picture, ClusterPageJsonContext.Default.ClusterPicture);

    /// <summary>CutLink holds arrays, which records compare by reference.</summary>
    private sealed class CutLinkComparer : IEqualityComparer<CutLink>
    {
        public static readonly CutLinkComparer Instance = new();

        public bool Equals(CutLink? x, CutLink? y) =>
            x is not null && y is not null && x.A == y.A && x.B == y.B && x.BlockedBy.SequenceEqual(y.BlockedBy) && x.UnreachableFrom.SequenceEqual(y.UnreachableFrom);

        public int GetHashCode(CutLink obj) => HashCode.Combine(obj.A, obj.B);
    }
}
