using CausalKv.Bench;

// dotnet run --project bench/CausalKv.Bench -c Release -- <scenario>...
// Scenarios: throughput, routercost, storage, dependencies, engines, client, gossip, convergence, resharding, resharding-declared, metadata, mac, hostile, fuzz, simulation, load, memory, scans, deadpeer, startup (all when none is named).
var all = new Dictionary<string, (Func<Report, Task> Run, string Note)>(StringComparer.OrdinalIgnoreCase)
{
    ["throughput"] = (ThroughputScenario.RunAsync, "ops/s and p50/p99 latency (ms) per operation and connection count: the bare ASP.NET endpoint (shared/bench/bare-endpoint, Release), node0 of a 2-node 1-shard cluster directly (every key local; a PUT replicates to node1), and the router in front of that pair; bare, node and router measured one after the other at each load point."),
    ["gossip"] = (Scenarios.GossipAsync, "In-sync pair (one shard, two replicas), gossip every 250 ms; bytes counted by the nodes over a 5 s window."),
    ["convergence"] = (Scenarios.ConvergenceAsync, "Pair cut by fault injection, D keys written on one side, then healed; time until both digests are equal, bytes the nodes sent each other."),
    ["resharding"] = (ReshardingScenario.RunAsync, "1e5 keys (100-byte values, written concurrently to their owners) in 3 shards of 2 replicas (nodes 0-5 of 8), then a 4th shard of nodes 6 and 7 added by one view change."),
    ["resharding-declared"] = (DeclaredReshardingScenario.RunAsync, "1e5 keys (100-byte values, written concurrently to their owners) in 2 shards of 2 replicas declared to the router (CausalKv:Cluster:*, 6 nodes and a router started from configuration alone, no AppHost), then generation 2 with 3 shards declared by PUT /cluster/declaration and applied by the router's reconciler."),
    ["metadata"] = (Scenarios.MetadataAsync, "One session writes N distinct keys in a row on node 0 of a pair, passing its metadata along."),
    ["load"] = (Scenarios.LoadAsync, "3000 PUTs of small values, 16 at a time, into 5 nodes in 2 shards."),
    ["startup"] = (StartupScenario.RunAsync, "Time to a usable cluster, as a user and as a test see it (already built; Release)."),
    ["mac"] = (MacScenario.RunAsync, "GET and PUT at node 0 of a pair with signed metadata (the default) against a pair with CausalKv:SignMetadata=false, 64 connections, interleaved."),
    ["simulation"] = (SimulationScenario.RunAsync, "The deterministic simulation (tests/CausalKv.Tests/Simulation) over random seeds: six nodes of the node's own protocol code on one deterministic thread, a lossy reordering network, partitions, crashes and restarts from the store, view changes; every run checked for causal violations, convergence, key placement and lost writes."),
    ["client"] = (ClientScenario.RunAsync, "CausalKvClient routed directly, CausalKvClient via the router and a hand-written HttpClient to the key's shard, side by side on 2 shards of 2 replicas."),
    ["routercost"] = (RouterCostScenario.RunAsync, "What a request through the router costs the nodes, against the same load sent to the nodes directly: node CPU per request at 64 connections on a shard of 2 replicas, for wrk to node0 alone, wrk split over node0 and node1 (32 connections each, as the router spreads it), the same split with an unsampled trace context, the split at 4 + 4 connections, and the router; and the nodes' CPU when idle."),
    ["storage"] = (StorageScenario.RunAsync, "The node's storage: versions in memory, in RocksDB with Durability=Process and with Durability=Fsync, side by side; and RocksDB stores of 1e5, 1e6 and 1e7 keys (STORAGE_KEYS): time from start to serving, RSS, disk bytes per key, against the replay of the log of earlier versions."),
    ["dependencies"] = (DependencyStoreScenario.RunAsync, "One session writes N keys through a replica on RocksDB with nothing pruned (a long partition): store bytes with dependency sets shared as tries, against inline."),
    ["engines"] = (EnginesScenario.RunAsync, "Storage engines for the node, side by side in one process: RocksDB and LMDB in each durability mode, against today's JSON-lines log."),
    ["scans"] = (ScansScenario.RunAsync, "RSS of a node on RocksDB under 8 concurrent full scans of its GET /data: this build paging (limit=1000, CausalKv:MaxPageBytes 4 MiB) against a baseline build's un-paged answer (SCANS_BASELINE=<its CausalKv.Node.dll>), side by side in one run, each scanned alone."),
    ["hostile"] = (HostileScenario.RunAsync, "A legitimate session's latency on node 0 of a pair, alone and while 4 loops without the cluster key send one kind of hostile request each, as fast as the node answers; node 0's CPU per hostile request."),
    ["fuzz"] = (FuzzScenario.RunAsync, "Random and mutated HTTP requests to every node and the router of two shards of two replicas (FUZZ_REQUESTS, FUZZ_SEED): every answer 2xx or a JSON 4xx (or a 503 that says why), nothing hangs, every target keeps answering, no acknowledged write changes."),
    ["deadpeer"] = (DeadPeerScenario.RunAsync, "Node 0 of a pair written to with node 1 up, then (a fresh pair) with node 1 killed: node 0's RSS before and 2 s after each load and its CPU per write (/proc), 16 writers (one for the one-writer load). BENCH_LABEL names the build measured."),
    ["memory"] = (Scenarios.MemoryAsync, "RSS of node 0 of a pair, idle and after 1e5 keys of 100-byte values (replicated to node 1)."),
};
var chosen = args.Length == 0 ? all.Keys.ToList() : args.ToList();
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
    Console.WriteLine(report.Save(BenchPaths.Results, scenario.Note));
}
return 0;
