namespace CausalKv.Sharding;

/// <summary>
/// One round of reconciling the running cluster with a <see cref="ClusterDeclaration"/>, decided without the network
/// from what the probes saw. The rules, in order:
/// <list type="number">
/// <item>An epoch of a newer generation anywhere: stand down (an older declaration never undoes a newer one).</item>
/// <item>The declared layout at the members' current addresses is the view in force (the newest, of this generation):
/// in sync, or resend it to members that answer as themselves without it, and to departed nodes (left out by an earlier
/// view, <see cref="DepartedNodes"/>) that answer below its epoch, so they hand their keys off; members and departed
/// nodes that do not answer get it when they do, and the round is not in sync before.</item>
/// <item>Otherwise a new view is due: it is installed once every member answers as itself at its address and every
/// node leaving the view (of the view in force, or departed) answers (it must hand its keys off first), and none of them
/// holds a view older than the view in force (such a node is resent the view in force first: no node skips a view,
/// whose handoffs the others have made and would not make again; a node without any view plans from none), at the epoch after the highest one seen within this
/// generation, or at the generation's first epoch; else the round waits and says for whom.</item>
/// </list>
/// Invariants: the epoch of an installed view is a function of the generation and of what was seen, and is always
/// above every epoch seen, so two reconcilers with one declaration that see the same addresses install the same view
/// under the same epoch, and no epoch of generation g is ever installed once an epoch of a newer generation exists.
/// Two reconcilers that see different addresses, or hold different declarations of one generation, may decide one
/// epoch with two layouts; every node promises one layout per epoch before any install (<see cref="ViewPromiseDecision"/>),
/// and the targets of both share the nodes of the view in force, so at most one of them installs it: the other is
/// refused before any node got its view, learns the epoch the nodes hold, and its next round goes above it.
/// </summary>
public sealed record ReconcileDecision(ReconcileAction Action, ShardView? View, IReadOnlyList<ViewNode> Targets, string Reason, IReadOnlyList<string> Blockers)
{
    /// <param name="declaration">What the cluster should be.</param>
    /// <param name="address">Each member's current address (<c>host:port</c>), or null when its name resolves to none.</param>
    /// <param name="newest">The newest view any node reported (null before the first).</param>
    /// <param name="highestEpoch">The highest epoch any node reported.</param>
    /// <param name="probes">What this round saw of every node <see cref="ProbeTargets"/> names, by node id.</param>
    /// <param name="departed">Nodes an earlier view left out that have not been seen holding a view without them since
    /// (<see cref="DepartedNodes"/>); none when not given.</param>
    public static ReconcileDecision Decide(ClusterDeclaration declaration, Func<DeclaredMember, string?> address, ShardView? newest,
        long highestEpoch, IReadOnlyDictionary<int, ProbedNode> probes, IReadOnlyCollection<ViewNode>? departed = null)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        var highest = Math.Max(highestEpoch, Math.Max(newest?.Epoch ?? 0, probes.Values.Select(p => p.Epoch).DefaultIfEmpty(0).Max()));
        var generation = ClusterDeclaration.GenerationOf(highest);
        if (generation > declaration.Generation)
        {
            return new(ReconcileAction.StandDown, null, [],
                $"the nodes follow generation {generation} (epoch {highest}), newer than this declaration's generation {declaration.Generation}: leaving it alone; give this router the newer declaration",
                [$"declaration generation {declaration.Generation} is older than the cluster's generation {generation}"]);
        }

        var unresolved = declaration.Members.Where(m => address(m) is null).ToList();
        if (unresolved.Count > 0)
        {
            return Wait("members without an address", unresolved.Select(m =>
                $"{m.Name} (node {m.Id}): {(probes.TryGetValue(m.Id, out var p) && p.Failure is not null ? p.Failure : "its name resolves to no address")}"));
        }
        var desired = declaration.ToView(0, m => address(m)!);
        ProbedNode Probe(DeclaredMember m) => probes.TryGetValue(m.Id, out var p) ? p : ProbedNode.Silent(m.Id, address(m)!, "not probed yet");
        ProbedNode ProbeOf(ViewNode n) => probes.TryGetValue(n.Id, out var p) ? p : ProbedNode.Silent(n.Id, n.Address, "not probed yet");
        var declaredIds = declaration.Members.Select(m => m.Id).ToHashSet();
        var gone = (departed ?? []).Where(n => !declaredIds.Contains(n.Id) && newest?.Contains(n.Id) != true).DistinctBy(n => n.Id).ToList();

        if (newest is not null && newest.Epoch == highest && ClusterDeclaration.GenerationOf(newest.Epoch) == declaration.Generation && newest.SameLayoutAs(desired))
        {
            var lacking = declaration.Members.Where(m => !(Probe(m).AnsweredAsItself && Probe(m).Epoch == newest.Epoch)).ToList();
            var goneLacking = gone.Where(n => !(ProbeOf(n).AnsweredAsItself && ProbeOf(n).Epoch >= newest.Epoch)).ToList();
            if (lacking.Count == 0 && goneLacking.Count == 0) return new(ReconcileAction.InSync, newest, [], $"every member holds epoch {newest.Epoch}", []);
            var answering = lacking.Where(m => Probe(m).AnsweredAsItself).ToList();
            var goneAnswering = goneLacking.Where(n => ProbeOf(n).AnsweredAsItself).ToList();
            var silent = lacking.Where(m => !Probe(m).AnsweredAsItself).Select(m => Describe(m, Probe(m)))
                .Concat(goneLacking.Where(n => !ProbeOf(n).AnsweredAsItself).Select(n => $"node {n.Id} left the view and must hand its keys off, but {Why(ProbeOf(n))}"))
                .ToList();
            if (answering.Count == 0 && goneAnswering.Count == 0)
                return new(ReconcileAction.Wait, newest, [], $"epoch {newest.Epoch} is in force; nodes that do not answer get it when they do", silent);
            return new(ReconcileAction.Resend, newest, [.. answering.Select(m => new ViewNode(address(m)!, m.Id)).Concat(goneAnswering).OrderBy(n => n.Id)],
                $"epoch {newest.Epoch} is in force; resending it to " + string.Join(", ",
                    answering.Select(m => $"{m.Name} (holds epoch {Probe(m).Epoch})")
                        .Concat(goneAnswering.Select(n => $"node {n.Id} (left the view; holds epoch {ProbeOf(n).Epoch})"))),
                silent);
        }

        var blockers = declaration.Members.Where(m => !Probe(m).AnsweredAsItself).Select(m => Describe(m, Probe(m))).ToList();
        var leaving = (newest?.AllNodes.Where(n => !declaredIds.Contains(n.Id)) ?? []).Concat(gone).ToList();
        foreach (var node in leaving)
        {
            var p = ProbeOf(node);
            if (!p.AnsweredAsItself)
                blockers.Add($"node {node.Id} at {node.Address} leaves the view and must hand its keys off first, but {Why(p)}");
        }
        var change = newest is null ? "first view" : Change(newest, desired, declaration);
        if (blockers.Count > 0) return new(ReconcileAction.Wait, null, [], $"{change} due; waiting for every node it involves to answer", blockers);
        // A node holding an older view would plan the change from it: the fences of a view it skipped, the shards of it.
        var behind = (newest?.AllNodes ?? []).Concat(gone).Concat(declaration.Members.Select(m => new ViewNode(address(m)!, m.Id))).DistinctBy(n => n.Id)
            .Where(n => newest is not null && ProbeOf(n).Epoch > 0 && ProbeOf(n).Epoch < newest.Epoch)
            .Select(n => declaration.Members.FirstOrDefault(m => m.Id == n.Id) is { } m ? new ViewNode(address(m)!, m.Id) : n)
            .OrderBy(n => n.Id).ToList();
        if (behind.Count > 0)
        {
            return new(ReconcileAction.Resend, newest, behind,
                $"{change} due; epoch {newest!.Epoch} must reach every node of it first: resending it to " +
                string.Join(", ", behind.Select(n => $"node {n.Id} (holds epoch {ProbeOf(n).Epoch})")), []);
        }

        var epoch = ClusterDeclaration.GenerationOf(highest) == declaration.Generation ? highest + 1 : declaration.FirstEpoch;
        if (epoch > declaration.LastEpoch)
            return Wait(change + " due", [$"generation {declaration.Generation} has used all its epochs: declare generation {declaration.Generation + 1}"]);
        var view = desired.WithEpoch(epoch);
        var targets = view.AllNodes.Concat(leaving).Distinct().OrderBy(n => n.Id).ToList();
        return new(ReconcileAction.Install, view, targets, $"{change}: installing epoch {epoch}", []);
    }

    /// <summary>
    /// Whom a round asks for its view: every member at its address (a member without one is not asked), then every node
    /// of the view in force and every departed node that is no member, at the address they are known at.
    /// </summary>
    public static IReadOnlyList<ViewNode> ProbeTargets(ClusterDeclaration declaration, Func<DeclaredMember, string?> address, ShardView? inForce,
        IEnumerable<ViewNode>? departed = null)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        var targets = new List<ViewNode>();
        var asked = new HashSet<int>();
        foreach (var m in declaration.Members)
        {
            asked.Add(m.Id);
            if (address(m) is { } at) targets.Add(new ViewNode(at, m.Id));
        }
        foreach (var node in (inForce?.AllNodes ?? []).Concat(departed ?? []))
            if (asked.Add(node.Id)) targets.Add(node);
        return targets;
    }

    private static ReconcileDecision Wait(string reason, IEnumerable<string> blockers) => new(ReconcileAction.Wait, null, [], reason, [.. blockers]);

    private static string Describe(DeclaredMember m, ProbedNode p) => $"{m.Name} (node {m.Id}) {Why(p)}";

    private static string Why(ProbedNode p) =>
        p.Answered && p.AnsweredAs != p.Id ? $"{p.Address} answers as node {p.AnsweredAs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(unknown)"}"
        : p.Answered ? $"holds epoch {p.Epoch}"
        : $"does not answer at {p.Address}{(p.Failure is null ? "" : ": " + p.Failure)}";

    /// <summary>What differs between the view in force and the declared one, in an operator's words.</summary>
    private static string Change(ShardView from, ShardView to, ClusterDeclaration declaration)
    {
        var parts = new List<string>();
        var generation = ClusterDeclaration.GenerationOf(from.Epoch);
        if (generation != declaration.Generation) parts.Add($"generation {generation} -> {declaration.Generation}");
        var added = to.ShardNames.Except(from.ShardNames).ToList();
        var removed = from.ShardNames.Except(to.ShardNames).ToList();
        if (added.Count > 0) parts.Add("shards added: " + string.Join(' ', added));
        if (removed.Count > 0) parts.Add("shards removed: " + string.Join(' ', removed));
        var fromNodes = from.AllNodes.ToDictionary(n => n.Id);
        foreach (var node in to.AllNodes)
        {
            if (!fromNodes.TryGetValue(node.Id, out var before)) parts.Add($"node {node.Id} joins {to.ShardOf(node.Id)}");
            else if (from.ShardOf(node.Id) != to.ShardOf(node.Id)) parts.Add($"node {node.Id} moves {from.ShardOf(node.Id)} -> {to.ShardOf(node.Id)}");
            else if (!string.Equals(before.Address, node.Address, StringComparison.OrdinalIgnoreCase)) parts.Add($"node {node.Id} moved {before.Address} -> {node.Address}");
        }
        foreach (var node in from.AllNodes.Where(n => !to.Contains(n.Id))) parts.Add($"node {node.Id} leaves");
        return parts.Count == 0 ? "the declared view" : string.Join("; ", parts);
    }
}
