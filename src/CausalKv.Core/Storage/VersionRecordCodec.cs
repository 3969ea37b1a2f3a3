// VersionRecordCodec: a StoredVersion as the bytes an embedded engine keeps, and back.
//
// Layout (integers as unsigned LEB128 varints, signed ones zigzag-encoded first):
//   format (1 byte, = 1), flags (bit 0: deleted, bit 1: shared dependencies), [value: length, UTF-8 bytes],
//   tag: timestamp, node; clock: count, (origin, seq)*;
//   dependencies: highest tag (timestamp, node), count, then either (inline)
//   (key length, UTF-8 key, tag timestamp, tag node, clock)* or (shared) the 16-byte id of their trie's root
//   (see DependencyTrie), for sets of more than DependencyTrie.InlineLimit entries.
// Invariant: Decode(Encode(v)) equals v in value, tag, clock, dependencies and the dependencies' highest tag, given the
// nodes of a shared set; any other input either decodes to some version or throws FormatException, never reads out of bounds.
using System.Buffers;
using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>The engine's record of one version. Pure; the engine's own checksums guard the bytes on disk.</summary>
public static class VersionRecordCodec
{
    private const byte Format = 1;
    private const byte Deleted = 1;
    private const byte Shared = 2;

    /// <param name="dependencyRoot">the root of the trie the engine stored the dependencies in; none stores them inline</param>
    public static void Encode(StoredVersion version, IBufferWriter<byte> output, UInt128? dependencyRoot = null)
    {
        var w = new RecordWriter(output);
        w.Byte(Format);
        w.Byte((byte)((version.Value is null ? Deleted : 0) | (dependencyRoot is null ? 0 : Shared)));
        if (version.Value is not null) w.Text(version.Value);
        w.Tag(version.Tag);
        w.Clock(version.Clock);
        var deps = version.Dependencies;
        w.Tag(deps.HighestTag);
        w.Unsigned((ulong)deps.Count);
        if (dependencyRoot is { } root)
        {
            w.Id(root);
            return;
        }
        foreach (var (key, dep) in deps.Entries) w.Entry(key, dep);
    }

    /// <summary>True when the record names a trie of dependencies rather than holding them (read nodes consistently with it).</summary>
    public static bool SharesDependencies(ReadOnlySpan<byte> record) => record.Length > 1 && (record[1] & Shared) != 0;

    public static byte[] Encode(StoredVersion version)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        Encode(version, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <param name="nodes">the bytes of a dependency-trie node, read as of the same point as the record; needed for shared dependencies</param>
    /// <exception cref="FormatException">The bytes are not a version record, or a node of its dependencies is missing or damaged.</exception>
    public static StoredVersion Decode(ReadOnlySpan<byte> record, Func<UInt128, byte[]?>? nodes = null)
    {
        var r = new RecordReader(record);
        if (r.Byte() != Format) throw new FormatException("Not a version record of a known format.");
        var flags = r.Byte();
        if ((flags & ~(Deleted | Shared)) != 0) throw new FormatException("Unknown flags in a version record.");
        var value = (flags & Deleted) != 0 ? null : r.Text();
        var tag = r.Tag();
        var clock = r.Clock();
        var highest = r.Tag();
        DependencySet deps;
        if ((flags & Shared) != 0)
        {
            var total = r.Unsigned();
            if (total > int.MaxValue) throw new FormatException("A version record names too many dependencies.");
            var root = r.Id();
            if (nodes is null) throw new FormatException("A version record with shared dependencies, read without its nodes.");
            deps = DependencyTrie.Load(root, (int)total, nodes);
        }
        else
        {
            var count = r.Count();
            if (count == 0) deps = DependencySet.Empty;
            else
            {
                var entries = new KeyValuePair<string, Dependency>[count];
                for (var i = 0; i < count; i++) entries[i] = r.Entry();
                deps = DependencySet.OfEntries(entries);
            }
        }
        if (!r.AtEnd) throw new FormatException("Bytes after the end of a version record.");
        return new StoredVersion(value, tag, clock, deps.Observing(highest));
    }
}
