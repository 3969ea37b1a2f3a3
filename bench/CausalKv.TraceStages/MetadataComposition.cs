using System.Text.Json;

namespace CausalKv.TraceStages;

/// <summary>
/// What the metadata a session sent held (NAME.metadata.jsonl, written by the client bench with CLIENT_TRACE): its bytes
/// and dependencies at the mean and the p99, and of the dependencies their age when sent (a tag's timestamp is the unix ms
/// of its write), whether their key is of the shard the request went to, and what the JSON around them costs.
/// </summary>
/// <remarks>Figures print with the invariant culture: the tool runs with InvariantGlobalization.</remarks>
internal static class MetadataComposition
{
    private sealed record Dep(string Key, long AgeMs, int Node, int ClockEntries, int Bytes);

    private sealed record Sample(int Worker, long SentMs, string Shard, int Bytes, List<Dep> Deps);

    public static void Print(string path)
    {
        var lines = File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        // The shard of every key seen as a request's key: the dependencies' keys are among them (random keys of 10,000).
        var shardOf = new Dictionary<string, string>();
        foreach (var l in lines) shardOf[l.GetProperty("key").GetString()!] = l.GetProperty("shard").GetString()!;
        var samples = new List<Sample>();
        foreach (var l in lines)
        {
            var sent = l.GetProperty("sentMs").GetInt64();
            var text = l.GetProperty("metadata").GetString();
            var deps = new List<Dep>();
            if (text is not null && JsonDocument.Parse(text).RootElement.TryGetProperty("d", out var d))
                foreach (var p in d.EnumerateObject())
                {
                    var t = p.Value.GetProperty("t");
                    deps.Add(new Dep(p.Name, sent - t[0].GetInt64(), t[1].GetInt32(), p.Value.GetProperty("c").EnumerateObject().Count(),
                        p.Name.Length + 4 + p.Value.GetRawText().Length));
                }
            var worker = l.TryGetProperty("worker", out var w) ? w.GetInt32() : -1;
            samples.Add(new Sample(worker, sent, l.GetProperty("shard").GetString()!, text?.Length ?? 0, deps));
        }
        if (samples.Count == 0) return;
        var bytes = samples.Select(s => (double)s.Bytes).Order().ToArray();
        var counts = samples.Select(s => (double)s.Deps.Count).Order().ToArray();
        var p99Bytes = P(bytes, 0.99);
        Console.WriteLine((
            $"{Path.GetFileName(path)}: {samples.Count} requests sampled; metadata bytes mean {bytes.Average():0}, p50 {P(bytes, 0.5):0}, p99 {p99Bytes:0}, max {bytes[^1]:0}; " +
            $"dependencies mean {counts.Average():0.00}, p50 {P(counts, 0.5):0}, p99 {P(counts, 0.99):0}, max {counts[^1]:0}"));
        Describe("all requests", samples, shardOf);
        Describe($"requests at or over the p99 ({p99Bytes:0} bytes)", samples.Where(s => s.Bytes >= p99Bytes).ToList(), shardOf);
        Follow(samples, shardOf);
    }

    /// <summary>
    /// The sessions logged request by request (workers 0-3): the metadata sent with request k+1 is what the node that
    /// answered request k left in it, so each dependency's drop is seen with the node's shard: its key's own shard (which
    /// learns that every replica holds the write from replication acknowledgements) or the other (which learns it by
    /// polling the key's shard for its frontier, every 50 ms while it waits for one).
    /// </summary>
    private static void Follow(List<Sample> samples, Dictionary<string, string> shardOf)
    {
        var dropped = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        var kept = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        foreach (var session in samples.Where(s => s.Worker is >= 0 and < 4).GroupBy(s => s.Worker))
        {
            var ordered = session.OrderBy(s => s.SentMs).ToList();
            for (var k = 0; k + 1 < ordered.Count; k++)
            {
                var (now, next) = (ordered[k], ordered[k + 1]);
                var after = next.Deps.ToDictionary(d => d.Key);
                foreach (var d in now.Deps)
                {
                    if (!shardOf.TryGetValue(d.Key, out var keyShard)) continue;
                    var local = keyShard == now.Shard;
                    var age = next.SentMs - (now.SentMs - d.AgeMs);
                    if (!after.TryGetValue(d.Key, out var still)) dropped[local].Add(age);
                    else if (still.AgeMs - (next.SentMs - now.SentMs) == d.AgeMs) kept[local].Add(age); // the same write, not a newer one
                }
            }
        }
        foreach (var local in new[] { true, false })
        {
            var drops = dropped[local].Order().ToArray();
            var keeps = kept[local].Order().ToArray();
            if (drops.Length == 0) continue;
            Console.WriteLine((
                $"  answered by a node of the {(local ? "key's own shard" : "other shard")}: {drops.Length} dependencies dropped, at age p10 {P(drops, 0.1):0}, p50 {P(drops, 0.5):0}, p90 {P(drops, 0.9):0}, p99 {P(drops, 0.99):0} ms; " +
                $"{keeps.Length} kept, at age p50 {P(keeps, 0.5):0}, p90 {P(keeps, 0.9):0}, p99 {P(keeps, 0.99):0} ms"));
        }
    }

    private static void Describe(string what, List<Sample> samples, Dictionary<string, string> shardOf)
    {
        var deps = samples.SelectMany(s => s.Deps.Select(d => (Sample: s, Dep: d))).ToList();
        if (deps.Count == 0) return;
        var ages = deps.Select(x => (double)x.Dep.AgeMs).Order().ToArray();
        var other = deps.Count(x => shardOf.TryGetValue(x.Dep.Key, out var s) && s != x.Sample.Shard);
        var same = deps.Count(x => shardOf.TryGetValue(x.Dep.Key, out var s) && s == x.Sample.Shard);
        var depBytes = deps.Average(x => x.Dep.Bytes);
        var framing = samples.Where(s => s.Bytes > 0).Average(s => s.Bytes - s.Deps.Sum(d => d.Bytes + 1));
        // The newest dependency of a request is its session's previous write (a PUT loop): how old is the rest?
        var older = samples.SelectMany(s => s.Deps.OrderByDescending(d => -d.AgeMs).Skip(1)).Select(d => (double)d.AgeMs).Order().ToArray();
        Console.WriteLine((
            $"  {what}: {samples.Count} requests, {deps.Count} dependencies ({(double)deps.Count / samples.Count:0.00} each), {depBytes:0} bytes each on average " +
            $"(clock entries {deps.Average(x => x.Dep.ClockEntries):0.00}), {framing:0} bytes of framing (ckv, h, m, braces) per metadata; " +
            $"key of the other shard than the request's {(double)other / Math.Max(1, other + same):P0}, of the same {(double)same / Math.Max(1, other + same):P0}; " +
            $"age ms p10 {P(ages, 0.1):0}, p50 {P(ages, 0.5):0}, p90 {P(ages, 0.9):0}, p99 {P(ages, 0.99):0}, max {ages[^1]:0}; " +
            $"over 50 ms {ages.Count(a => a > 50) / (double)ages.Length:P0}, over 100 ms {ages.Count(a => a > 100) / (double)ages.Length:P0}, over 1 s {ages.Count(a => a > 1000) / (double)ages.Length:P1}; " +
            $"without each request's newest: age p50 {P(older, 0.5):0}, p90 {P(older, 0.9):0} ms; written by node " +
            string.Join(", ", deps.GroupBy(x => x.Dep.Node).OrderBy(g => g.Key).Select(g => $"{g.Key}: {(double)g.Count() / deps.Count:P0}"))));
        var sameAges = deps.Where(x => shardOf.TryGetValue(x.Dep.Key, out var s) && s == x.Sample.Shard).Select(x => (double)x.Dep.AgeMs).Order().ToArray();
        var otherAges = deps.Where(x => shardOf.TryGetValue(x.Dep.Key, out var s) && s != x.Sample.Shard).Select(x => (double)x.Dep.AgeMs).Order().ToArray();
        if (sameAges.Length > 0 && otherAges.Length > 0)
            Console.WriteLine((
                $"    same shard: {sameAges.Length} dependencies, age p50 {P(sameAges, 0.5):0}, p90 {P(sameAges, 0.9):0}, p99 {P(sameAges, 0.99):0} ms; " +
                $"other shard: {otherAges.Length}, age p50 {P(otherAges, 0.5):0}, p90 {P(otherAges, 0.9):0}, p99 {P(otherAges, 0.99):0} ms"));
    }

    private static double P(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
}
