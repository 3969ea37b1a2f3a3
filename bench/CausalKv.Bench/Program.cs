using CausalKv.Bench;

// dotnet run --project bench/CausalKv.Bench -c Release -- <scenario>...
// Scenarios: gossip, convergence, metadata, memory (all when none is named).
var all = new Dictionary<string, (Func<Report, Task> Run, string Note)>(StringComparer.OrdinalIgnoreCase)
{
    ["gossip"] = (Scenarios.GossipAsync, "In-sync pair (one shard, two replicas), gossip every 250 ms; bytes counted by the nodes over a 5 s window."),
    ["convergence"] = (Scenarios.ConvergenceAsync, "Pair cut by fault injection, D keys written on one side, then healed; time until both digests are equal, bytes the nodes sent each other."),
    ["metadata"] = (Scenarios.MetadataAsync, "One session writes N distinct keys in a row on node 0 of a pair, passing its metadata along."),
    ["load"] = (Scenarios.LoadAsync, "3000 PUTs of small values, 16 at a time, into 5 nodes in 2 shards."),
    ["memory"] = (Scenarios.MemoryAsync, "RSS of node 0 of a pair, idle and after 1e5 keys of 100-byte values (replicated to node 1)."),
};
var chosen = args.Length == 0 ? all.Keys.ToList() : args.ToList();
var results = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../results"));
foreach (var name in chosen)
{
    if (!all.TryGetValue(name, out var scenario))
    {
        Console.Error.WriteLine($"Unknown scenario '{name}'. Known: {string.Join(", ", all.Keys)}");
        return 2;
    }
    Console.WriteLine($"== {name}");
    var report = new Report(name);
    await scenario.Run(report);
    Console.WriteLine(report.Save(results, scenario.Note));
}
return 0;
