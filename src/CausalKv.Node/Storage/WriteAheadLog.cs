using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CausalKv.Causality;
using CausalKv.Node.Replication;

namespace CausalKv.Node.Storage;

/// <summary>
/// Makes acknowledged writes survive a crash of the process (SIGKILL included):
/// every change of a key's version and of the applied frontier is appended to a
/// file and handed to the operating system before the request is answered.
/// (No fsync per write: a power loss can lose the last writes; a process crash cannot.)
/// On start the log is replayed and rewritten compactly.
/// </summary>
public sealed class WriteAheadLog : IReplicaJournal
{
    private const long CompactAbove = 256L * 1024 * 1024;
    private readonly string _path;
    private FileStream _file;
    private readonly Utf8JsonWriter _writer;
    private readonly MemoryStream _buffer = new();
    private long _compactedLength;

    private readonly long _compactAbove;

    public WriteAheadLog(string directory, long compactAbove = CompactAbove)
    {
        _compactAbove = compactAbove;
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, "wal.jsonl");
        _file = Open(_path);
        _writer = new Utf8JsonWriter(_buffer);
    }

    private static FileStream Open(string path) =>
        new(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);

    /// <summary>What the log held: every key's version and the applied frontier.</summary>
    public (Dictionary<string, StoredVersion> Versions, Dictionary<long, long> Applied) Replay()
    {
        var versions = new Dictionary<string, StoredVersion>(StringComparer.Ordinal);
        var applied = new Dictionary<long, long>();
        _file.Flush();
        using (var reader = new StreamReader(new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), Encoding.UTF8))
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                WalRecord? record;
                try { record = JsonSerializer.Deserialize(line, WalJsonContext.Default.WalRecord); }
                catch (JsonException) { break; } // a torn last line from a crash mid-append
                if (record is null) continue;
                if (record.K is not null)
                {
                    if (record.V is null) versions.Remove(record.K);
                    else versions[record.K] = StoredVersion.Merge(versions.GetValueOrDefault(record.K), record.V.ToStored());
                }
                if (record.A is not null) StableFrontier.JoinInto(applied, record.A);
            }
        }
        return (versions, applied);
    }

    public void Version(string key, StoredVersion version) => Append(new WalRecord { K = key, V = WireVersion.From(key, version) });

    public void Removed(string key) => Append(new WalRecord { K = key });

    public void Applied(IReadOnlyDictionary<long, long> applied) => Append(new WalRecord { A = new Dictionary<long, long>(applied) });

    public void Write(string key, StoredVersion version, long origin, long seq) =>
        Append(new WalRecord { K = key, V = WireVersion.From(key, version), A = new Dictionary<long, long> { [origin] = seq } });

    private void Append(WalRecord record)
    {
        _buffer.SetLength(0);
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, record, WalJsonContext.Default.WalRecord);
        _writer.Flush();
        _buffer.WriteByte((byte)'\n');
        _file.Write(_buffer.GetBuffer(), 0, (int)_buffer.Length);
    }

    /// <summary>Hands what was appended to the operating system; called before a write is acknowledged.</summary>
    public void Commit() => _file.Flush();

    /// <summary>
    /// True once the log is over its compaction threshold (256 MiB) and twice what the last compaction left: a log whose live
    /// state is itself large (versions carrying many dependencies, as under a long partition) is not rewritten on
    /// every write, so compaction costs stay proportional to what was appended.
    /// </summary>
    public bool NeedsCompaction => _file.Length > Math.Max(_compactAbove, 2 * _compactedLength);

    /// <summary>Replaces the log with one record per key and the frontier.</summary>
    public void Compact(IEnumerable<KeyValuePair<string, StoredVersion>> versions, IReadOnlyDictionary<long, long> applied)
    {
        var temp = _path + ".compact";
        _file.Dispose();
        _file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        foreach (var (k, v) in versions) Version(k, v);
        Applied(applied);
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(temp, _path, overwrite: true);
        _file = Open(_path);
        _compactedLength = _file.Length;
    }

    public void Dispose()
    {
        _file.Flush();
        _file.Dispose();
        _writer.Dispose();
    }
}

public sealed class WalRecord
{
    public string? K { get; set; }
    public WireVersion? V { get; set; }
    public Dictionary<long, long>? A { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(WalRecord))]
internal sealed partial class WalJsonContext : JsonSerializerContext;
