using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CausalKv.Causality;
using CausalKv.Protocol;

namespace CausalKv.Node.Storage;

/// <summary>
/// The JSON-lines log earlier versions of the node kept in their data directory (<c>wal.jsonl</c>): one record per change
/// of a key's version or of the applied frontier, replayed whole at start. The node now keeps its state in its storage
/// engine and reads this log once, to import it (see <see cref="LegacyLogImport"/>); writing it is kept so tests can
/// make one.
/// </summary>
public sealed class WriteAheadLog : IDisposable
{
    public const string FileName = "wal.jsonl";
    private readonly string _path;
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _writer;
    private readonly MemoryStream _buffer = new();

    public WriteAheadLog(string directory)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, FileName);
        _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
        _writer = new Utf8JsonWriter(_buffer);
    }

    /// <summary>What the log held: every key's version and the applied frontier, and whether a torn last line was dropped.</summary>
    public (Dictionary<string, StoredVersion> Versions, Frontier Applied, bool TornTail) Replay()
    {
        var versions = new Dictionary<string, StoredVersion>(StringComparer.Ordinal);
        var applied = new FrontierBuilder();
        var torn = false;
        _file.Flush();
        using (var reader = new StreamReader(new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), Encoding.UTF8))
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                WalRecord? record;
                try { record = JsonSerializer.Deserialize(line, WalJsonContext.Default.WalRecord); }
                catch (JsonException) { torn = true; break; } // a torn last line from a crash mid-append
                if (record is null) continue;
                if (record.K is not null)
                {
                    if (record.V is null) versions.Remove(record.K);
                    else versions[record.K] = StoredVersion.Merge(versions.GetValueOrDefault(record.K), record.V.ToStored());
                }
                if (record.A is { } a) applied.Join(a);
            }
        }
        return (versions, applied.ToFrontier(), torn);
    }

    public void Version(string key, StoredVersion version) => Append(new WalRecord { K = key, V = WireVersion.From(key, version) });

    public void Removed(string key) => Append(new WalRecord { K = key });

    public void Applied(Frontier applied) => Append(new WalRecord { A = applied });

    public void Write(string key, StoredVersion version, long origin, long seq) =>
        Append(new WalRecord { K = key, V = WireVersion.From(key, version), A = Frontier.Empty.With(origin, seq) });

    private void Append(WalRecord record)
    {
        _buffer.SetLength(0);
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, record, WalJsonContext.Default.WalRecord);
        _writer.Flush();
        _buffer.WriteByte((byte)'\n');
        _file.Write(_buffer.GetBuffer(), 0, (int)_buffer.Length);
    }

    /// <summary>Hands what was appended to the operating system, as the node did before acknowledging a write.</summary>
    public void Commit() => _file.Flush();

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
    public Frontier? A { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(WalRecord))]
internal sealed partial class WalJsonContext : JsonSerializerContext;
