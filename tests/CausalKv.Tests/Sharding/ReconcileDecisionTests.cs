using CausalKv.Sharding;

namespace CausalKv.Tests.Sharding;

/// <summary>
/// The reconciler's decisions without a network: nodes are in-memory records that apply a view the way a node's
/// <c>PUT /view</c> does (<see cref="ViewEpochDecision"/> with the epoch given), and reconcilers are rounds of
/// <see cref="ReconcileDecision.Decide"/> over what they would probe.
/// </summary>
public sealed class ReconcileDecisionTests
{
    private static readonly string[] Names = ["kv-0", "kv-1", "kv-2", "kv-3", "kv-4", "kv-5"];

    private static ClusterDeclaration Declared(long generation, int shards, int replicas = 2) =>
        ClusterDeclaration.Create(generation, shards, replicas, Names);

    /// <summary>Six nodes, each with an address and the view it holds; a node may be down or moved.</summary>
    private sealed class FakeCluster
    {
        public Dictionary<string, string> Addresses { get; } = Names.ToDictionary(n => n, n => $"{n}:8080");
        public Dictionary<int, ShardView?> Held { get; } = Names.Select((_, i) => i).ToDictionary(i => i, _ => (ShardView?)null);
        public HashSet<int> Down { get; } = [];
        public int Refused { get; private set; }

        public ShardView? Newest => Held.Values.Where(v => v is not null).MaxBy(v => v!.Epoch);

        public ReconcileDecision Round(ClusterDeclaration declaration, Func<DeclaredMember, string?>? address = null)
        {
            address ??= m => Addresses[m.Name];
            var probes = new Dictionary<int, ProbedNode>();
            foreach (var (id, view) in Held)
            {
                var at = declaration.Members.FirstOrDefault(m => m.Id == id) is { } member ? address(member) : Newest?.AllNodes.FirstOrDefault(n => n.Id == id)?.Address;
                if (at is null) continue;
                probes[id] = Down.Contains(id) || at != Addresses[Names[id]] ? ProbedNode.Silent(id, at, "connection refused") : ProbedNode.Holding(id, at, view?.Epoch ?? 0);
            }
            var decision = ReconcileDecision.Decide(declaration, address, Newest, Newest?.Epoch ?? 0, probes);
            if (decision.Action is ReconcileAction.Install or ReconcileAction.Resend)
            {
                foreach (var target in decision.Targets.Where(t => !Down.Contains(t.Id)))
                {
                    var verdict = ViewEpochDecision.Decide(Held[target.Id], Held[target.Id]?.Epoch ?? 0, decision.View!, decision.View!.Epoch);
                    if (verdict.Verdict == ViewEpochVerdict.Stale) Refused++;
                    else Held[target.Id] = verdict.View;
                }
            }
            return decision;
        }
    }

    [Fact]
    public void A_declaration_by_counts_spreads_consecutive_members_and_takes_ids_from_the_names()
    {
        var d = Declared(1, 3);
        Assert.Equal(["shard0", "shard1", "shard2"], d.Shards.Select(s => s.Name));
        Assert.Equal([2, 3], d.Shards[1].Members.Select(m => m.Id));
        Assert.Equal(ClusterDeclaration.EpochsPerGeneration + 1, d.FirstEpoch);

        var spares = ClusterDeclaration.Create(1, 2, 2, Names);
        Assert.Equal(4, spares.Members.Count);
        var byPosition = ClusterDeclaration.Create(1, 1, null, ["alpha", "beta"]);
        Assert.Equal([0, 1], byPosition.Members.Select(m => m.Id));
    }

    [Theory]
    [InlineData(0, 1, "generation")]
    [InlineData(1, 0, "at least one shard")]
    [InlineData(1, 4, "members are needed")]
    public void A_declaration_that_cannot_be_a_cluster_is_refused_with_its_reason(long generation, int shards, string reason)
    {
        Assert.False(ClusterDeclaration.TryCreate(generation, shards, 2, Names, out _, out var error));
        Assert.Contains(reason, error);
        Assert.False(ClusterDeclaration.TryCreate(1, 1, null, ["a", "A"], out _, out var twice));
        Assert.Contains("twice", twice);
    }

    [Fact]
    public void The_first_view_waits_for_every_member_then_is_installed_at_the_generation_first_epoch()
    {
        var cluster = new FakeCluster();
        cluster.Down.Add(3);
        var waiting = cluster.Round(Declared(1, 2));
        Assert.Equal(ReconcileAction.Wait, waiting.Action);
        Assert.Contains(waiting.Blockers, b => b.Contains("kv-3") && b.Contains("does not answer"));

        cluster.Down.Clear();
        var install = cluster.Round(Declared(1, 2));
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.Equal(ClusterDeclaration.EpochsPerGeneration + 1, install.View!.Epoch);
        Assert.Contains("first view", install.Reason);
        Assert.Equal(ReconcileAction.InSync, cluster.Round(Declared(1, 2)).Action);
    }

    [Fact]
    public void A_member_that_restarted_without_the_view_gets_it_again_and_a_silent_one_is_reported_not_waited_on()
    {
        var cluster = new FakeCluster();
        cluster.Round(Declared(1, 3));
        var epoch = cluster.Newest!.Epoch;
        cluster.Held[2] = null;     // restarted on an empty data folder
        cluster.Down.Add(5);        // stopped
        var resend = cluster.Round(Declared(1, 3));
        Assert.Equal(ReconcileAction.Resend, resend.Action);
        Assert.Equal([2], resend.Targets.Select(t => t.Id));
        Assert.Contains(resend.Blockers, b => b.Contains("kv-5"));
        Assert.Equal(epoch, cluster.Held[2]!.Epoch);
        Assert.Equal(ReconcileAction.Wait, cluster.Round(Declared(1, 3)).Action); // only kv-5 lacks it: it gets it when it answers
        cluster.Down.Clear(); // back with the view it kept in its data folder
        Assert.Equal(ReconcileAction.InSync, cluster.Round(Declared(1, 3)).Action);
    }

    [Fact]
    public void A_replica_back_under_its_name_at_a_new_address_is_replaced_with_the_next_revision()
    {
        var cluster = new FakeCluster();
        cluster.Round(Declared(1, 2));
        var before = cluster.Newest!.Epoch;
        cluster.Addresses["kv-1"] = "10.0.0.9:8080";
        var install = cluster.Round(Declared(1, 2));
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.Equal(before + 1, install.View!.Epoch);
        Assert.Contains("node 1 moved kv-1:8080 -> 10.0.0.9:8080", install.Reason);
        Assert.Equal("10.0.0.9:8080", install.View.NodesOf("shard0").Single(n => n.Id == 1).Address);
        Assert.DoesNotContain(install.Targets, t => t.Address == "kv-1:8080"); // the old address is the same node, gone
    }

    [Fact]
    public void A_new_generation_adding_a_shard_moves_to_its_first_epoch_and_targets_every_node_old_and_new()
    {
        var cluster = new FakeCluster();
        cluster.Round(Declared(1, 2));
        var install = cluster.Round(Declared(2, 3));
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.Equal(2 * ClusterDeclaration.EpochsPerGeneration + 1, install.View!.Epoch);
        Assert.Contains("shards added: shard2", install.Reason);
        Assert.Equal(6, install.Targets.Count);

        // Back to two shards: kv-4 and kv-5 leave and must answer to hand their keys off.
        cluster.Down.Add(5);
        var blocked = cluster.Round(Declared(3, 2));
        Assert.Equal(ReconcileAction.Wait, blocked.Action);
        Assert.Contains(blocked.Blockers, b => b.Contains("node 5") && b.Contains("hand its keys off"));
        cluster.Down.Clear();
        var removed = cluster.Round(Declared(3, 2));
        Assert.Equal(ReconcileAction.Install, removed.Action);
        Assert.Contains(removed.Targets, t => t.Id == 5);
    }

    [Fact]
    public void Two_routers_with_different_generations_converge_on_the_newer_and_the_older_never_undoes_it()
    {
        var cluster = new FakeCluster();
        var older = Declared(1, 2);
        var newer = Declared(2, 3);
        // The older router gets there first; the newer one then installs its generation above it.
        Assert.Equal(ReconcileAction.Install, cluster.Round(older).Action);
        Assert.Equal(ReconcileAction.Install, cluster.Round(newer).Action);
        var installed = cluster.Newest!;
        for (var round = 0; round < 5; round++)
        {
            var old = cluster.Round(older);
            Assert.Equal(ReconcileAction.StandDown, old.Action);
            Assert.Contains("newer than this declaration's generation 1", old.Reason);
            Assert.Equal(ReconcileAction.InSync, cluster.Round(newer).Action);
        }
        Assert.Same(installed, cluster.Newest);
        Assert.Equal(3, cluster.Newest!.ShardNames.Count);
        Assert.All(cluster.Held.Values, v => Assert.Equal(installed.Epoch, v!.Epoch));
        Assert.Equal(0, cluster.Refused);

        // Even a node restarted without a view is left to the newer router: the older one still sees the generation elsewhere.
        cluster.Held[4] = null;
        Assert.Equal(ReconcileAction.StandDown, cluster.Round(older).Action);
        Assert.Null(cluster.Held[4]);
        Assert.Equal(ReconcileAction.Resend, cluster.Round(newer).Action);
    }

    [Fact]
    public void Two_routers_with_one_declaration_install_the_same_view_under_the_same_epoch()
    {
        var a = new FakeCluster();
        var first = a.Round(Declared(4, 2));
        // The second router decides from the same observations before it sees the first's view: the same decision.
        var b = new FakeCluster();
        var second = b.Round(Declared(4, 2));
        Assert.Equal(first.View!.Epoch, second.View!.Epoch);
        Assert.True(first.View.SameLayoutAs(second.View));
        // Once it sees it, it is in sync and sends nothing.
        Assert.Equal(ReconcileAction.InSync, a.Round(Declared(4, 2)).Action);
        Assert.Equal(0, a.Refused);
    }

    [Fact]
    public void A_view_installed_by_hand_below_the_first_generation_is_replaced_by_the_declared_one()
    {
        var cluster = new FakeCluster();
        var manual = ShardView.Create(7, new Dictionary<string, IReadOnlyList<ViewNode>> { ["s"] = [new ViewNode("kv-0:8080", 0)] });
        foreach (var id in cluster.Held.Keys) cluster.Held[id] = id == 0 ? manual : null;
        var install = cluster.Round(Declared(1, 2));
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.Equal(ClusterDeclaration.EpochsPerGeneration + 1, install.View!.Epoch);
        Assert.Contains("generation 0 -> 1", install.Reason);
    }

    [Fact]
    public void A_member_whose_address_answers_as_another_node_blocks_a_change_and_says_so()
    {
        var cluster = new FakeCluster();
        var probes = new Dictionary<int, ProbedNode> { [0] = ProbedNode.Holding(0, "kv-0:8080", 0, answeredAs: 9), [1] = ProbedNode.Holding(1, "kv-1:8080", 0) };
        var decision = ReconcileDecision.Decide(ClusterDeclaration.Create(1, 1, 2, Names), m => cluster.Addresses[m.Name], null, 0, probes);
        Assert.Equal(ReconcileAction.Wait, decision.Action);
        Assert.Contains(decision.Blockers, b => b.Contains("answers as node 9"));
        var unresolved = ReconcileDecision.Decide(ClusterDeclaration.Create(1, 1, 2, Names), m => m.Id == 0 ? null : "kv-1:8080", null, 0, probes);
        Assert.Contains(unresolved.Blockers, b => b.Contains("kv-0"));
    }
}
