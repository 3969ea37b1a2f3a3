namespace CausalKv.Tests.Simulation;

/// <summary>
/// Checks a recorded history for the bad patterns of causal consistency (Bouajjani, Enea, Guerraoui and Hamza,
/// "On Verifying Causal Consistency", POPL 2017), computed from the history alone and never from the store's clocks:
/// the causal order is the transitive closure of session order and reads-from (a read returns a unique value, so
/// it names the write it read; a value stored more than once, by a request sent again, by its tag too).
/// <list type="bullet">
/// <item>thin-air read: a read returns a value no write stored;</item>
/// <item>causal cycle: session order and reads-from form a cycle;</item>
/// <item>causally overwritten read: a read returns a write w although the session had already observed (directly or
/// transitively) a write to the key causally after w;</item>
/// <item>absent after a write: a read answers 'absent' although the session observed a write to the key and no
/// delete of the key can explain it.</item>
/// </list>
/// CausalKv also promises convergence (causal+): a read may return a write concurrent with one the session observed
/// only when it wins the tie-break (a higher write tag), so a lower-ranked concurrent write is
/// a violation too. Session order: an operation follows every earlier operation of its session whose answer the
/// client got; an unacknowledged write follows them but nothing follows it (the client never learned of it).
/// </summary>
internal static class HistoryChecker
{
    public static IReadOnlyList<string> Check(IReadOnlyList<HistoryOperation> history)
    {
        var violations = new List<string>();
        var writes = history.Where(o => o.IsWrite && o.Executed).ToList();
        var writeIndex = new Dictionary<int, int>();
        for (var i = 0; i < writes.Count; i++) writeIndex[writes[i].Index] = i;
        // A value names one request; a request forwarded again after its answer was lost may be stored more than once,
        // each time as a write of its own, and the read then names which by the version's tag.
        var byValue = writes.Where(w => w.Value is not null).GroupBy(w => w.Value!).ToDictionary(g => g.Key, g => g.ToList());

        // The operations of the causal graph: every stored write and every answered read.
        var ops = history.Where(o => o.IsWrite ? o.Executed : o.Completed).ToList();
        var position = new Dictionary<int, int>();
        for (var i = 0; i < ops.Count; i++) position[ops[i].Index] = i;
        var successors = new List<int>[ops.Count];
        var predecessors = new int[ops.Count];
        for (var i = 0; i < ops.Count; i++) successors[i] = [];
        void Edge(int from, int to)
        {
            successors[from].Add(to);
            predecessors[to]++;
        }

        foreach (var session in ops.GroupBy(o => o.Session))
        {
            int? lastObserved = null;
            // The stores of one request (sent again, or delivered twice) follow what came before it, never each other.
            foreach (var request in session.GroupBy(o => o.SessionOrder).OrderBy(g => g.Key))
            {
                int? observed = null;
                foreach (var op in request.OrderBy(o => o.Index))
                {
                    var at = position[op.Index];
                    if (lastObserved is { } p) Edge(p, at);
                    if (op.Completed) observed = at;
                }
                lastObserved = observed ?? lastObserved;
            }
        }
        var readsFrom = new Dictionary<int, HistoryOperation>();
        foreach (var read in ops.Where(o => o.IsRead && o.Value is not null))
        {
            var source = byValue.GetValueOrDefault(read.Value!) is { } stored
                ? stored.Count == 1 ? stored[0] : stored.FirstOrDefault(w => w.Tag == read.Tag)
                : null;
            if (source is null || source.Key != read.Key)
            {
                violations.Add($"thin-air read: {read} returns a value no write to '{read.Key}' stored");
                continue;
            }
            readsFrom[read.Index] = source;
            Edge(position[source.Index], position[read.Index]);
        }

        // Kahn's algorithm: what is left unsorted lies on or behind a cycle.
        var order = new List<int>(ops.Count);
        var ready = new Queue<int>(Enumerable.Range(0, ops.Count).Where(i => predecessors[i] == 0));
        while (ready.Count > 0)
        {
            var i = ready.Dequeue();
            order.Add(i);
            foreach (var s in successors[i])
                if (--predecessors[s] == 0) ready.Enqueue(s);
        }
        if (order.Count < ops.Count)
        {
            var stuck = Enumerable.Range(0, ops.Count).Where(i => predecessors[i] > 0).Take(6).Select(i => ops[i].ToString());
            violations.Add($"causal cycle: session order and reads-from form a cycle through {string.Join("; ", stuck)}");
            return violations;
        }

        // past[i]: the writes causally before operation i, as a bit set over `writes`.
        var words = (writes.Count + 63) / 64;
        var past = new ulong[ops.Count][];
        for (var i = 0; i < ops.Count; i++) past[i] = new ulong[words];
        foreach (var i in order)
        {
            var mine = past[i];
            var isWrite = writeIndex.TryGetValue(ops[i].Index, out var w);
            foreach (var s in successors[i])
            {
                var theirs = past[s];
                for (var x = 0; x < words; x++) theirs[x] |= mine[x];
                if (isWrite) theirs[w >> 6] |= 1UL << (w & 63);
            }
        }
        bool Before(int write, ulong[] set) => (set[write >> 6] & (1UL << (write & 63))) != 0;

        foreach (var read in ops.Where(o => o.IsRead))
        {
            var seen = past[position[read.Index]];
            var observed = writes.Where((w, i) => w.Key == read.Key && Before(i, seen)).ToList();
            if (read.Value is not null)
            {
                if (!readsFrom.TryGetValue(read.Index, out var source)) continue;
                if (Overruled(source, observed) is { } why) violations.Add($"{why}: {read} returned {source}");
                continue;
            }
            if (observed.Count == 0) continue;
            var deletes = writes.Where(w => w.Key == read.Key && w.Value is null).ToList();
            if (deletes.Any(d => Overruled(d, observed) is null)) continue;
            violations.Add($"absent after a write: {read} although the session observed {observed.OrderByDescending(o => o.Tag).First()}" +
                (deletes.Count == 0 ? " and the key was never deleted" : " and every delete of the key is causally overwritten or loses the tie-break"));
        }
        return violations;

        // Why a read that observed `observed` may not return `returned`, or null when it may.
        string? Overruled(HistoryOperation returned, List<HistoryOperation> observed)
        {
            var r = writeIndex[returned.Index];
            var returnedPast = past[position[returned.Index]];
            foreach (var y in observed)
            {
                if (y.Index == returned.Index) continue;
                var yi = writeIndex[y.Index];
                var yPast = past[position[y.Index]];
                if (Before(r, yPast)) return $"causally overwritten read (the session observed {y}, written after it)";
                if (!Before(yi, returnedPast) && y.Tag > returned.Tag)
                    return $"concurrent write that loses the tie-break (the session observed {y}, which outranks it)";
            }
            return null;
        }
    }
}
