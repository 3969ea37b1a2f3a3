// RecordWriter: the varint primitives of the storage records (versions and dependency nodes).
// Integers are unsigned LEB128 varints, signed ones zigzag-encoded first; text is a length and UTF-8 bytes.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using CausalKv.Causality;

namespace CausalKv.Storage;

internal readonly ref struct RecordWriter(IBufferWriter<byte> output)
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

    /// <summary>A node id: 16 bytes, most significant first.</summary>
    public void Id(UInt128 id)
    {
        BinaryPrimitives.WriteUInt128BigEndian(output.GetSpan(16), id);
        output.Advance(16);
    }

    /// <summary>One dependency of a set: key, tag, clock.</summary>
    public void Entry(string key, Dependency dependency)
    {
        Text(key);
        Tag(dependency.Tag);
        Clock(dependency.Clock);
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
