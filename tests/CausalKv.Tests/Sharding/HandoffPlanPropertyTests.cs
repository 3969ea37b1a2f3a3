using CausalKv.Sharding;
using FsCheck.Xunit;

namespace CausalKv.Tests.Sharding;

/// <summary>
/// Laws of a handoff plan over random pairs of views (six nodes, up to four shards, any node in any shard or in
/// none): a key moves only when its owning shard is not the node's shard any more, and then to its new owner.
/// </summary>
public sealed class HandoffPlanPropertyTests
{
    private const int Nodes = 6;
    private static readonly string[] Keys = Enumerable.Range(0, 30).Select(i => $"key{i}").ToArray();

    /// <summary>Node i goes to shard <c>s{a[i] % 5 - 1}</c>, or to none when that is -1; null when no node is in a shard.</summary>
    private static ShardView? ViewOf(long epoch, byte[] assignment)
    {
        var shards = new SortedDictionary<string, List<ViewNode>>(StringComparer.Ordinal);
        for (var id = 0; id < Nodes; id++)
        {
            var slot = id < assignment.Length ? assignment[id] % 5 : 0;
            if (slot == 0) continue;
            var name = $"s{slot - 1}";
            if (!shards.TryGetValue(name, out var list)) shards[name] = list = [];
            list.Add(new ViewNode($"10.0.0.{id}:8080", id));
        }
        return shards.Count == 0 ? null
            : ShardView.Create(epoch, shards.ToDictionary(s => s.Key, s => (IReadOnlyList<ViewNode>)s.Value, StringComparer.Ordinal));
    }

    [Property(MaxTest = 60)]
    public void A_plan_moves_only_keys_whose_shard_changed_and_only_to_their_new_owner(byte[] before, byte[] after)
    {
        var newView = ViewOf(2, after);
        if (newView is null) return;
        var oldView = ViewOf(1, before);
        var oldRing = oldView?.CreateRing();
        var newRing = newView.CreateRing();
        for (var id = 0; id < Nodes; id++)
        {
            var plan = HandoffPlan.Create(oldView, newView, id);
            foreach (var key in Keys)
            {
                var owner = newRing.ShardFor(key);
                var disposition = plan.DispositionOf(key);
                var why = $"node {id}: {oldView} -> {newView}, {key} owned by {oldRing?.ShardFor(key) ?? "-"} then {owner}";
                if (disposition.Move == KeyMove.HandOff)
                {
                    Assert.Equal(owner, disposition.TargetShard);
                    Assert.NotEqual(plan.NewShard, owner);
                }
                else
                {
                    Assert.Equal(plan.NewShard, owner);
                }
                // A node that stays in its shard keeps every key its shard owned before and still owns.
                if (plan.OldShard is not null && plan.OldShard == plan.NewShard && oldRing!.ShardFor(key) == plan.NewShard && owner == plan.NewShard)
                    Assert.True(disposition.Move == KeyMove.Keep, why);
                // Only a node that moved into the key's shard, or joined it from none, adopts it (its new peers never held
                // it from this node).
                if (disposition.Move == KeyMove.Adopt)
                    Assert.True(oldView is not null && plan.ShardChanged, why);
            }
        }
    }

    [Property(MaxTest = 40)]
    public void The_same_layout_again_moves_nothing(byte[] layout)
    {
        var view = ViewOf(1, layout);
        if (view is null) return;
        var again = view.WithEpoch(2);
        var ring = view.CreateRing();
        foreach (var node in view.AllNodes)
        {
            var plan = HandoffPlan.Create(view, again, node.Id);
            Assert.False(plan.ShardChanged);
            Assert.Empty(plan.FenceSources);
            foreach (var key in Keys.Where(k => ring.ShardFor(k) == plan.NewShard))
                Assert.Equal(KeyMove.Keep, plan.DispositionOf(key).Move);
        }
    }
}
