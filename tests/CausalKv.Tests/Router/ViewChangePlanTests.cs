using CausalKv.Router.Discovery;
using CausalKv.Sharding;

namespace CausalKv.Tests.Router;

public sealed class ViewChangePlanTests
{
    private static ViewNode Node(int id) => new($"10.0.2.{id}:8080", id);

    private static ShardView View(long epoch, params (string Shard, int[] Ids)[] shards) =>
        ShardView.Create(epoch, shards.ToDictionary(s => s.Shard, s => (IReadOnlyList<ViewNode>)s.Ids.Select(Node).ToArray(), StringComparer.Ordinal));

    private static readonly ShardView Current = View(3, ("s0", [0, 1]), ("s1", [2, 3]));

    private static int[] Ids(ViewChangePlan plan) => plan.Targets.Select(n => n.Id).ToArray();

    [Fact]
    public void A_new_view_goes_to_every_node_of_the_old_and_the_new_view_once()
    {
        var plan = ViewChangePlan.Create(Current, 3, null, View(0, ("s0", [0, 1]), ("s1", [4])), null, out var conflict);
        Assert.Null(conflict);
        Assert.NotNull(plan);
        Assert.Equal(4, plan.View.Epoch);
        Assert.False(plan.Retry);
        Assert.Equal([0, 1, 2, 3, 4], Ids(plan));
    }

    [Fact]
    public void The_first_view_goes_to_its_own_nodes()
    {
        var plan = ViewChangePlan.Create(null, 0, null, View(0, ("s0", [5, 6])), 2, out _);
        Assert.Equal(2, plan!.View.Epoch);
        Assert.Equal([5, 6], Ids(plan));
    }

    [Fact]
    public void A_stale_epoch_is_a_conflict_naming_the_current_epoch_and_plans_nothing()
    {
        var plan = ViewChangePlan.Create(Current, 3, null, View(0, ("s0", [0, 1, 2, 3])), 2, out var conflict);
        Assert.Null(plan);
        Assert.Contains("epoch 3", conflict);
    }

    [Fact]
    public void The_highest_epoch_any_node_reported_counts_even_above_the_view_the_router_follows()
    {
        var plan = ViewChangePlan.Create(Current, 9, null, View(0, ("s0", [0, 1, 2, 3])), null, out _);
        Assert.Equal(10, plan!.View.Epoch);
        Assert.Null(ViewChangePlan.Create(Current, 9, null, View(0, ("s0", [0, 1, 2, 3])), 8, out var conflict));
        Assert.Contains("epoch 9", conflict);
    }

    [Fact]
    public void A_retry_of_a_half_finished_change_goes_again_to_the_nodes_that_left_the_view()
    {
        // Epoch 4 took node 3 out; the broadcast failed part way, and the router now follows epoch 4.
        var first = ViewChangePlan.Create(Current, 3, null, View(0, ("s0", [0, 1]), ("s1", [2])), null, out _)!;
        Assert.Equal([0, 1, 2, 3], Ids(first));
        var followed = first.View;

        foreach (long? epoch in new long?[] { 4, null })
        {
            var retry = ViewChangePlan.Create(followed, 4, first, View(0, ("s1", [2]), ("s0", [1, 0])), epoch, out var conflict);
            Assert.Null(conflict);
            Assert.True(retry!.Retry);
            Assert.Equal(4, retry.View.Epoch);
            Assert.Equal([0, 1, 2, 3], Ids(retry));
        }
    }

    [Fact]
    public void A_retry_without_a_broadcast_of_that_view_goes_to_the_view_s_own_nodes()
    {
        var retry = ViewChangePlan.Create(Current, 3, null, Current, 3, out _)!;
        Assert.True(retry.Retry);
        Assert.Equal([0, 1, 2, 3], Ids(retry));

        // An earlier broadcast of another view is no reason to send this one to its nodes.
        var earlier = new ViewChangePlan(View(2, ("s0", [7])), [Node(7)], false);
        Assert.Equal([0, 1, 2, 3], Ids(ViewChangePlan.Create(Current, 3, earlier, Current, null, out _)!));
    }

    [Fact]
    public void The_unreachable_error_names_every_node_with_its_address_and_reason_and_the_epoch_in_force()
    {
        var error = ViewChangePlan.UnreachableError(
            [(new ViewNode("127.0.0.1:9", 9), "could not connect: Connection refused"), (Node(2), "no answer to GET /ping within 2000 ms")], 3);
        Assert.Contains("node 2 at 10.0.2.2:8080 (no answer to GET /ping within 2000 ms)", error);
        Assert.Contains("node 9 at 127.0.0.1:9 (could not connect: Connection refused)", error);
        Assert.True(error.IndexOf("node 2 at", StringComparison.Ordinal) < error.IndexOf("node 9 at", StringComparison.Ordinal));
        Assert.Contains("not installed on any node", error);
        Assert.Contains("epoch 3 stays in force", error);
        Assert.Contains("2 nodes", error);
        Assert.Contains("1 node of", ViewChangePlan.UnreachableError([(Node(1), "x")], 3));
    }
}
