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
        /// <summary>Nodes a view sent to is lost on the way to (they answer probes, but miss it).</summary>
        public HashSet<int> Misses { get; } = [];
        public DepartedNodes Departed { get; } = new();
        public int Refused { get; private set; }

        public ShardView? Newest => Held.Values.Where(v => v is not null).MaxBy(v => v!.Epoch);

        /// <param name="highestEpoch">the highest epoch the reconciler knows of, when above every view held (one a node
        /// promised, learnt from a refused prepare)</param>
        public ReconcileDecision Round(ClusterDeclaration declaration, Func<DeclaredMember, string?>? address = null, long highestEpoch = 0)
        {
            address ??= m => Addresses[m.Name];
            var probes = new Dictionary<int, ProbedNode>();
            Departed.Follow(Newest);
            foreach (var target in ReconcileDecision.ProbeTargets(declaration, address, Newest, Departed.Nodes))
            {
                var (id, at) = (target.Id, target.Address);
                probes[id] = Down.Contains(id) || at != Addresses[Names[id]] ? ProbedNode.Silent(id, at, "connection refused") : ProbedNode.Holding(id, at, Held[id]?.Epoch ?? 0);
            }
            Departed.Seen(probes.Values);
            var decision = ReconcileDecision.Decide(declaration, address, Newest, Math.Max(highestEpoch, Newest?.Epoch ?? 0), probes, Departed.Nodes);
            if (decision.Action is ReconcileAction.Install or ReconcileAction.Resend)
            {
                foreach (var target in decision.Targets.Where(t => !Down.Contains(t.Id) && !Misses.Contains(t.Id)))
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

    [Fact]
    public void A_node_that_missed_the_view_it_leaves_by_is_resent_it_until_it_holds_it()
    {
        var cluster = new FakeCluster();
        cluster.Round(Declared(1, 3));
        cluster.Misses.Add(5);
        var install = cluster.Round(Declared(2, 2)); // kv-4 and kv-5 leave; the view never reaches kv-5
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.Equal(install.View!.Epoch, cluster.Held[4]!.Epoch);
        Assert.NotEqual(install.View.Epoch, cluster.Held[5]!.Epoch);

        // kv-5 is no member and no node of the view in force: only what the reconciler remembers makes it ask it.
        cluster.Down.Add(5);
        var waiting = cluster.Round(Declared(2, 2));
        Assert.Equal(ReconcileAction.Wait, waiting.Action);
        Assert.Contains(waiting.Blockers, b => b.Contains("node 5 left the view") && b.Contains("does not answer"));
        cluster.Down.Clear();
        cluster.Misses.Clear();
        var resend = cluster.Round(Declared(2, 2));
        Assert.Equal(ReconcileAction.Resend, resend.Action);
        Assert.Equal([5], resend.Targets.Select(t => t.Id));
        Assert.Contains("node 5 (left the view", resend.Reason);
        Assert.Equal(install.View.Epoch, cluster.Held[5]!.Epoch);
        Assert.Equal(ReconcileAction.InSync, cluster.Round(Declared(2, 2)).Action);
        Assert.Empty(cluster.Departed.Nodes);
    }

    [Fact]
    public void A_change_waits_until_every_node_it_involves_holds_the_view_in_force_and_resends_it_first()
    {
        var cluster = new FakeCluster();
        cluster.Round(Declared(1, 3));
        var first = cluster.Newest!;
        cluster.Misses.Add(2);
        cluster.Round(Declared(2, 3, replicas: 1)); // kv-3..kv-5 leave; kv-2 misses the view and stays at the first
        var inForce = cluster.Newest!;
        Assert.Equal(first.Epoch, cluster.Held[2]!.Epoch);
        cluster.Misses.Clear();

        // The next change would have kv-2 plan from a view it skipped: it gets the view in force first.
        var resend = cluster.Round(Declared(3, 2, replicas: 1));
        Assert.Equal(ReconcileAction.Resend, resend.Action);
        Assert.Equal(inForce.Epoch, resend.View!.Epoch);
        Assert.Equal([2], resend.Targets.Select(t => t.Id));
        Assert.Contains("must reach every node of it first", resend.Reason);
        Assert.Equal(ReconcileAction.Install, cluster.Round(Declared(3, 2, replicas: 1)).Action);

        // A node without any view plans from none: it does not hold a change back.
        cluster.Held[3] = null;
        var install = cluster.Round(Declared(4, 2, replicas: 2));
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.Contains(install.Targets, t => t.Id == 3);
    }

    [Fact]
    public void A_node_that_promised_a_newer_install_takes_the_resend_of_the_view_in_force_and_the_next_install_goes_above_its_promise()
    {
        var cluster = new FakeCluster();
        cluster.Round(Declared(1, 3));
        cluster.Misses.Add(2);
        cluster.Round(Declared(2, 3, replicas: 1)); // kv-2 misses the view and stays at the first
        var inForce = cluster.Newest!;
        cluster.Misses.Clear();
        // kv-2 promised the next epoch to another router's layout (another declaration of this generation), whose install
        // never came; a prepare it refused told this reconciler so.
        var abandoned = Declared(2, 2, replicas: 1).ToView(inForce.Epoch + 1, m => cluster.Addresses[m.Name]);
        var promises = ViewPromises.None.With(abandoned);

        var lagging = cluster.Held[2];
        var resend = cluster.Round(Declared(3, 2, replicas: 1), highestEpoch: abandoned.Epoch);
        Assert.Equal(ReconcileAction.Resend, resend.Action);
        Assert.Equal(inForce.Epoch, resend.View!.Epoch);
        Assert.Equal([2], resend.Targets.Select(t => t.Id));
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(lagging, promises, resend.View).Verdict);
        Assert.Equal(inForce.Epoch, cluster.Held[2]!.Epoch);

        // Every node holds the view in force: the change is installed above the epoch kv-2 promised, which takes it too.
        var caughtUp = cluster.Held[2];
        var install = cluster.Round(Declared(3, 2, replicas: 1), highestEpoch: abandoned.Epoch);
        Assert.Equal(ReconcileAction.Install, install.Action);
        Assert.True(install.View!.Epoch > abandoned.Epoch);
        Assert.Equal(ViewPromiseVerdict.Promise, ViewPromiseDecision.Decide(caughtUp, promises.Above(inForce.Epoch), install.View).Verdict);
    }

    [Fact]
    public void Departed_nodes_are_those_a_followed_view_left_out_until_seen_holding_the_epoch_they_left_at()
    {
        static ShardView View(long epoch, params int[] ids) =>
            ShardView.Create(epoch, new Dictionary<string, IReadOnlyList<ViewNode>> { ["s"] = [.. ids.Select(i => new ViewNode($"kv-{i}:8080", i))] });
        var departed = new DepartedNodes();
        departed.Follow(View(1, 0, 1, 2));
        Assert.Empty(departed.Nodes);
        departed.Follow(View(3, 0, 1));
        departed.Follow(View(2, 0)); // older: changes nothing
        Assert.Equal([2], departed.Nodes.Select(n => n.Id));
        Assert.Equal(3, departed.LeftAt(2));
        departed.Follow(View(4, 0));
        Assert.Equal([1, 2], departed.Nodes.Select(n => n.Id));
        Assert.Equal(3, departed.LeftAt(2)); // it left at the first view without it

        departed.Seen([ProbedNode.Holding(2, "kv-2:8080", 2), ProbedNode.Holding(1, "kv-1:8080", 4, answeredAs: 7), ProbedNode.Silent(1, "kv-1:8080", "down")]);
        Assert.Equal([1, 2], departed.Nodes.Select(n => n.Id));
        departed.Seen([ProbedNode.Holding(2, "kv-2:8080", 3)]);
        Assert.Equal([1], departed.Nodes.Select(n => n.Id));
        departed.Follow(View(5, 0, 1)); // back in a view: a member again, not departed
        Assert.Empty(departed.Nodes);
    }

    [Fact]
    public void A_reconciler_that_never_saw_a_node_leave_learns_it_from_a_fence_that_waits_for_it_and_resends_the_view_to_it()
    {
        // Generation 2 left kv-2 out; the view telling it so was lost, and the router that sent it started again since.
        var declaration = ClusterDeclaration.Create(2, [new("s", ["kv-0", "kv-1"])]);
        string? At(DeclaredMember m) => $"{m.Name}:8080";
        var inForce = declaration.ToView(declaration.FirstEpoch, m => At(m)!);
        var fresh = new DepartedNodes();
        fresh.Follow(inForce);
        var waitedFor = new DepartedNode(new ViewNode("kv-2:8080", 2), inForce.Epoch);
        var probes = new Dictionary<int, ProbedNode>
        {
            [0] = ProbedNode.Holding(0, "kv-0:8080", inForce.Epoch) with { Departed = [waitedFor] },
            [1] = ProbedNode.Holding(1, "kv-1:8080", inForce.Epoch),
        };
        // What a router without the list decides: in sync, and kv-2 is never asked again.
        Assert.Equal(ReconcileAction.InSync, ReconcileDecision.Decide(declaration, At, inForce, inForce.Epoch, probes).Action);

        fresh.Seen(probes.Values);
        Assert.Equal([2], fresh.Nodes.Select(n => n.Id));
        Assert.Equal(inForce.Epoch, fresh.LeftAt(2));
        Assert.Contains(ReconcileDecision.ProbeTargets(declaration, At, inForce, fresh.Nodes), t => t.Id == 2 && t.Address == "kv-2:8080");
        // Next round it answers, still holding the view before: the view in force goes to it, and the round is not in sync.
        probes[2] = ProbedNode.Holding(2, "kv-2:8080", inForce.Epoch - 1);
        fresh.Seen(probes.Values);
        var resend = ReconcileDecision.Decide(declaration, At, inForce, inForce.Epoch, probes, fresh.Nodes);
        Assert.Equal(ReconcileAction.Resend, resend.Action);
        Assert.Equal([2], resend.Targets.Select(t => t.Id));

        // Once it holds the view it is forgotten, and a node of the view in force is never learnt as departed.
        probes[2] = ProbedNode.Holding(2, "kv-2:8080", inForce.Epoch);
        probes[0] = probes[0] with { Departed = [waitedFor, new DepartedNode(new ViewNode("kv-1:8080", 1), inForce.Epoch)] };
        fresh.Seen(probes.Values);
        Assert.Empty(fresh.Nodes);
    }

    [Fact]
    public void A_node_keeps_the_nodes_its_views_left_out_only_while_its_fence_waits_for_them()
    {
        static ShardView View(long epoch, params int[] ids) =>
            ShardView.Create(epoch, new Dictionary<string, IReadOnlyList<ViewNode>> { ["s"] = [.. ids.Select(i => new ViewNode($"kv-{i}:8080", i))] });
        var kept = DepartedNodes.Carry(View(1, 0, 1, 2, 3), View(2, 0, 1), [], new HashSet<int> { 2, 3 });
        Assert.Equal([(2, 2L), (3, 2L)], kept.Select(d => (d.Node.Id, d.LeftAt)));
        // Back in the next view: dropped; one that left earlier keeps its epoch; one newly left is added.
        kept = DepartedNodes.Carry(View(2, 0, 1), View(3, 0, 3), kept, new HashSet<int> { 1, 2, 3 });
        Assert.Equal([(1, 3L), (2, 2L)], kept.Select(d => (d.Node.Id, d.LeftAt)));
        // Not waited for any more: dropped.
        Assert.Equal([1], DepartedNodes.Carry(View(3, 0, 3), View(4, 0, 3), kept, new HashSet<int> { 1 }).Select(d => d.Node.Id));
        // The first view keeps nothing.
        Assert.Empty(DepartedNodes.Carry(null, View(1, 0), [], new HashSet<int> { 0 }));
        // Bounded: the most recent are kept.
        var many = Enumerable.Range(10, DepartedNodes.MaxKept + 5).Select(i => new DepartedNode(new ViewNode($"kv-{i}:8080", i), 1)).ToList();
        var bounded = DepartedNodes.Carry(View(2, 0, 9), View(3, 0), many, many.Select(d => d.Node.Id).Append(9).ToHashSet());
        Assert.Equal(DepartedNodes.MaxKept, bounded.Count);
        Assert.Contains(bounded, d => d.Node.Id == 9 && d.LeftAt == 3);
    }

    [Fact]
    public void A_node_answer_names_its_departed_nodes_and_malformed_entries_are_skipped()
    {
        using var json = System.Text.Json.JsonDocument.Parse("""
            {"epoch": 5, "node": 0, "departed": [
              {"id": 2, "address": "kv-2:8080", "leftAt": 5},
              {"id": -1, "address": "kv-3:8080", "leftAt": 5},
              {"id": 4, "address": "not an address", "leftAt": 5},
              {"id": 5, "address": "kv-5:8080", "leftAt": 0},
              {"id": "6", "address": "kv-6:8080", "leftAt": 5},
              7
            ]}
            """);
        Assert.Equal([new DepartedNode(new ViewNode("kv-2:8080", 2), 5)], ViewJson.ReadDeparted(json.RootElement));
        using var none = System.Text.Json.JsonDocument.Parse("""{"epoch": 5, "departed": {"id": 2}}""");
        Assert.Empty(ViewJson.ReadDeparted(none.RootElement));
    }

    [Fact]
    public void A_round_asks_every_member_at_its_address_and_every_other_node_of_the_view_and_of_the_departed_once()
    {
        var declaration = Declared(1, 1);
        var inForce = ShardView.Create(5, new Dictionary<string, IReadOnlyList<ViewNode>>
        {
            ["s"] = [new ViewNode("kv-0:1", 0), new ViewNode("kv-4:8080", 4)],
        });
        var targets = ReconcileDecision.ProbeTargets(declaration, m => m.Id == 1 ? null : $"{m.Name}:8080", inForce,
            [new ViewNode("kv-5:8080", 5), new ViewNode("kv-4:9", 4)]);
        Assert.Equal(["kv-0:8080/0", "kv-4:8080/4", "kv-5:8080/5"], targets.Select(t => $"{t.Address}/{t.Id}"));
    }

    [Fact]
    public void A_declaration_replaces_another_only_with_a_higher_generation_or_as_the_same_one()
    {
        var current = Declared(2, 2);
        Assert.True(Declared(3, 3).MayReplace(current, out var none));
        Assert.Null(none);
        Assert.True(Declared(2, 2).MayReplace(current, out _));
        Assert.False(Declared(2, 3).MayReplace(current, out var other));
        Assert.Contains("raise the generation", other);
        Assert.False(Declared(1, 2).MayReplace(current, out var older));
        Assert.Contains("generation 1 is not newer", older);
    }
}
