// VersionRecordCodec: a StoredVersion as the bytes an embedded engine keeps, and back.
//
// Layout (integers as unsigned LEB128 varints, signed ones zigzag-encoded first):
//   format (1 byte, = 1), flags (bit 0: deleted), [value: length, UTF-8 bytes],
//   tag: timestamp, node; clock: count, (origin, seq)*;
//   dependencies: highest tag (timestamp, node), count, (key length, UTF-8 key, tag timestamp, tag node, clock)*.
// Invariant: Decode(Encode(v)) equals v in value, tag, clock, dependencies and the dependencies' highest tag; any
// other input either decodes to some version or throws FormatException, never reads out of bounds.
using System.Buffers;
using System.Text;
using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>The engine's record of one version. Pure; the engine's own checksums guard the bytes on disk.</summary>
public static class VersionRecordCodec
{
    private const byte Format = 1;
    private const byte Deleted = 1;

    public static void Encode(StoredVersion version, IBufferWriter<byte> output)
    {
        var w = new Writer(output);
        w.Byte(Format);
        w.Byte(version.Value is null ? Deleted : (byte)0);
        if (version.Value is not null) w.Text(version.Value);
        w.Tag(version.Tag);
        w.Clock(version.Clock);
        var deps = version.Dependencies;
        w.Tag(deps.HighestTag);
        w.Unsigned((ulong)deps.Count);
        foreach (var (key, dep) in deps.Entries)
        {
            w.Text(key);
            w.Tag(dep.Tag);
            w.Clock(dep.Clock);
        }
    }

    public static byte[] Encode(StoredVersion version)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        Encode(version, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="FormatException">The bytes are not a version record.</exception>
    public static StoredVersion Decode(ReadOnlySpan<byte> record)
    {
        var r = new Reader(record);
        if (r.Byte() != Format) throw new FormatException("Not a version record of a known format.");
        var flags = r.Byte();
        if ((flags & ~Deleted) != 0) throw new FormatException("Unknown flags in a version record.");
        var value = (flags & Deleted) != 0 ? null : r.Text();
        var tag = r.Tag();
        var clock = r.Clock();
        var highest = r.Tag();
        var count = r.Count();
        var deps = DependencySet.Empty;
        for (var i = 0; i < count; i++)
        {
            var key = r.Text();
            var depTag = r.Tag();
            deps = deps.With(key, new Dependency(r.Clock(), depTag));
        }
        if (!r.AtEnd) throw new FormatException("Bytes after the end of a version record.");
        return new StoredVersion(value, tag, clock, deps.Observing(highest));
    }

    private readonly ref struct Writer(IBufferWriter<byte> output)
    {
        public void Byte(byte b)
        {
            output.GetSpan(1)[0] = b;
            output.Advance(1);
        }

        public void Unsigned(ulong v)
        {
            var span = output.GetSpan(10);
            var n = 0;
            while (v >= 0x80)
            {
                span[n++] = (byte)(v | 0x80);
                v >>= 7;
            }
            span[n++] = (byte)v;
            output.Advance(n);
        }

        public void Signed(long v) => Unsigned((ulong)((v << 1) ^ (v >> 63)));

        public void Text(string s)
        {
            var length = Encoding.UTF8.GetByteCount(s);
            Unsigned((ulong)length);
            var written = Encoding.UTF8.GetBytes(s, output.GetSpan(length));
            output.Advance(written);
        }

        public void Tag(WriteTag tag)
        {
            Signed(tag.Timestamp);
            Signed(tag.Node);
        }

        public void Clock(VersionVector clock)
        {
            Unsigned((ulong)clock.Count);
            foreach (var e in clock.Entries)
            {
                Signed(e.Origin);
                Signed(e.Seq);
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        public byte Byte()
        {
            if (_at >= _bytes.Length) throw Truncated();
            return _bytes[_at++];
        }

        public ulong Unsigned()
        {
            ulong v = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Byte();
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
            throw new FormatException("A number in a version record is too long.");
        }

        public long Signed()
        {
            var u = Unsigned();
            return (long)(u >> 1) ^ -(long)(u & 1);
        }

        /// <summary>A count of items still to read, each of which takes at least one byte.</summary>
        public int Count()
        {
            var n = Unsigned();
            if (n > (ulong)(_bytes.Length - _at)) throw Truncated();
            return (int)n;
        }

        public string Text()
        {
            var length = Count();
            var s = Encoding.UTF8.GetString(_bytes.Slice(_at, length));
            _at += length;
            return s;
        }

        public WriteTag Tag()
        {
            var ts = Signed();
            var node = Signed();
            if (node is < int.MinValue or > int.MaxValue) throw new FormatException("A node id in a version record is out of range.");
            return new WriteTag(ts, (int)node);
        }

        public VersionVector Clock()
        {
            var count = Count();
            if (count == 0) return VersionVector.Empty;
            var entries = new VersionVector.Entry[count];
            for (var i = 0; i < count; i++)
            {
                var origin = Signed();
                var seq = Signed();
                if (seq < 0) throw new FormatException("A negative sequence number in a version record.");
                entries[i] = new VersionVector.Entry(origin, seq);
            }
            return VersionVector.Of(entries);
        }

        private static FormatException Truncated() => new("A version record ends early.");
    }
}
