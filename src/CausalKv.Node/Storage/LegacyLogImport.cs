using CausalKv.Storage;

namespace CausalKv.Node.Storage;

/// <summary>
/// Moves a data directory written by earlier versions of the node (their JSON-lines log, <c>wal.jsonl</c>) into the
/// storage engine, once: every version and the applied frontier are put into the table and committed, then the log is
/// renamed <c>wal.jsonl.imported</c> and never read again. Interrupted before the rename, the import runs again at the
/// next start; putting the same versions twice leaves the same state, and the node serves nothing before it is done.
/// </summary>
public static class LegacyLogImport
{
    public const string ImportedSuffix = ".imported";

    /// <summary>Imports the log in <paramref name="directory"/> if there is one; null when there was none.</summary>
    public static LegacyImportResult? Run(string directory, IVersionTable table)
    {
        var path = Path.Combine(directory, WriteAheadLog.FileName);
        if (!File.Exists(path)) return null;
        Dictionary<string, CausalKv.Causality.StoredVersion> versions;
        CausalKv.Causality.Frontier applied;
        bool torn;
        using (var log = new WriteAheadLog(directory)) (versions, applied, torn) = log.Replay();
        foreach (var (key, version) in versions)
        {
            var local = table.Get(key);
            table.Put(key, CausalKv.Causality.StoredVersion.Merge(local, version), local);
        }
        var had = table.LoadApplied();
        foreach (var (origin, seq) in applied)
            if (had.Get(origin) < seq) table.SetApplied(origin, seq);
        table.WhenDurableAsync(table.Commit()).AsTask().GetAwaiter().GetResult();
        File.Move(path, path + ImportedSuffix, overwrite: true);
        return new LegacyImportResult(versions.Count, applied.Count, torn);
    }
}

/// <param name="Keys">versions imported</param>
/// <param name="Origins">origins in the imported frontier</param>
/// <param name="TornTail">the log ended in a torn record (a crash mid-append), which was dropped</param>
public sealed record LegacyImportResult(int Keys, int Origins, bool TornTail);
