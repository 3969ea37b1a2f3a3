// RecordReader: the varint primitives of the storage records (versions and dependency nodes).
// Integers are unsigned LEB128 varints, signed ones zigzag-encoded first; text is a length and UTF-8 bytes.
// Invariant: the reader never reads out of bounds; malformed input raises FormatException.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CausalKv.Causality;

namespace CausalKv.Storage;

internal ref struct RecordReader(ReadOnlySpan<byte> bytes)
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

    public UInt128 Id()
    {
        if (_bytes.Length - _at < 16) throw Truncated();
        var id = BinaryPrimitives.ReadUInt128BigEndian(_bytes.Slice(_at, 16));
        _at += 16;
        return id;
    }

    /// <summary>One dependency of a set, as <see cref="RecordWriter.Entry"/> wrote it.</summary>
    public KeyValuePair<string, Dependency> Entry()
    {
        var key = Text();
        var tag = Tag();
        return new(key, new Dependency(Clock(), tag));
    }

    /// <summary>What is left after the bytes read so far.</summary>
    public readonly ReadOnlySpan<byte> Rest => _bytes[_at..];

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
        return VersionVector.OfOwned(entries);
    }

    private static FormatException Truncated() => new("A version record ends early.");
}
