using CausalKv.Node.Configuration;
using CausalKv.Storage;
using RocksDbSharp;

namespace CausalKv.Node.Storage;

/// <summary>
/// Opens the table a node keeps its versions in, as <see cref="NodeOptions"/> say: RocksDB in
/// <c>&lt;DataDirectory&gt;/store</c> (importing a log left by earlier versions, see <see cref="LegacyLogImport"/>), or memory.
/// A store the engine finds corrupt when it opens is not served from: it is moved aside to
/// <c>store.corrupt-&lt;time&gt;</c> and the node starts empty, to catch up from its peers.
/// </summary>
public static class NodeStorage
{
    public const string StoreFolder = "store";

    public static OpenedStorage Open(NodeOptions options)
    {
        if (options.DataDirectory is not { Length: > 0 } dir)
            return new OpenedStorage(new MemoryVersionTable(), "memory (no data directory)", LostState: false, null, null);
        if (options.Storage == StorageKind.Memory)
            return new OpenedStorage(new MemoryVersionTable(), "memory (CausalKv:Storage = Memory)", LostState: true, null, null);
        var path = Path.Combine(dir, StoreFolder);
        var cache = (long)options.CacheMegabytes * 1024 * 1024;
        string? setAside = null;
        RocksDbVersionTable table;
        try
        {
            table = RocksDbVersionTable.Open(path, options.Durability, cache);
        }
        catch (RocksDbException e) when (e.Message.Contains("Corruption", StringComparison.OrdinalIgnoreCase))
        {
            setAside = $"{path}.corrupt-{DateTime.UtcNow:yyyyMMddTHHmmssZ}";
            Directory.Move(path, setAside);
            table = RocksDbVersionTable.Open(path, options.Durability, cache);
            setAside += " (" + e.Message + ")";
        }
        var imported = LegacyLogImport.Run(dir, table);
        return new OpenedStorage(table, $"RocksDB in {path}, durability {options.Durability}, cache {options.CacheMegabytes} MiB",
            LostState: setAside is not null, setAside, imported);
    }
}

/// <param name="Description">what holds the versions, for the start-up log</param>
/// <param name="LostState">the node may hold less than it did when it stopped (its store was set aside, or kept in memory):
/// it must catch up with its shard's peers before it answers reads</param>
/// <param name="SetAside">where a store found corrupt was moved, and why</param>
/// <param name="Imported">what was imported from a log of earlier versions</param>
public sealed record OpenedStorage(IVersionTable Table, string Description, bool LostState, string? SetAside, LegacyImportResult? Imported);
