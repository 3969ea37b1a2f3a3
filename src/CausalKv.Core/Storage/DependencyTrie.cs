// DependencyTrie: a large dependency set as an engine keeps it: once, in nodes that the sets of other versions share.
//
// A set of more than InlineLimit dependencies is a trie of nodes. A leaf holds at most LeafCapacity entries; an inner
// node splits its entries 16 ways by the next 4 bits of the XxHash64 of their keys. Entries are ordered by (hash, key),
// so the trie's shape and every node's bytes are a function of the set alone, and a node is named by a hash of its bytes
// (SHA-256, cut to 128 bits). Two sets that differ in one key therefore share every node off that key's path.
//
// Why: cut off from the other replicas of its shard nothing a session writes becomes stable, so its write number N
// carries N - 1 dependencies. Stored inline, N writes take N²/2 entries on disk; as tries they take O(N log N): each
// write adds one leaf and the inner nodes above it, and names the rest of the previous set's nodes.
// Invariant: Load(Build(s).Id) equals s as a map, whatever else the node source holds.
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>Builds and reads the content-addressed trie of a large dependency set. Pure.</summary>
public static class DependencyTrie
{
    /// <summary>Sets of at most this many dependencies stay inline in their version's record: the usual, pruned case.</summary>
    public const int InlineLimit = 32;

    /// <summary>A leaf holds at most this many entries (fewer only at the deepest level, where all 64 bits are used).</summary>
    public const int LeafCapacity = 32;

    private const int MaxDepth = 16;
    private const byte LeafKind = 0;
    private const byte InnerKind = 1;

    /// <summary>True when an engine keeps <paramref name="deps"/> as a trie rather than inline.</summary>
    public static bool IsShared(DependencySet deps) => deps.Count > InlineLimit;

    /// <summary>The trie of <paramref name="deps"/>, every node with its id and bytes.</summary>
    public static DependencyTrieNode Build(DependencySet deps)
    {
        var items = new Item[deps.Count];
        var i = 0;
        foreach (var (key, dep) in deps.Entries) items[i++] = new Item(XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(key)), key, dep);
        Array.Sort(items);
        return Build(items, 0, items.Length, 0, new ArrayBufferWriter<byte>(1024));
    }

    private static DependencyTrieNode Build(Item[] items, int from, int to, int depth, ArrayBufferWriter<byte> scratch)
    {
        if (to - from <= LeafCapacity || depth == MaxDepth)
        {
            scratch.ResetWrittenCount();
            var w = new RecordWriter(scratch);
            w.Byte(LeafKind);
            w.Unsigned((ulong)(to - from));
            for (var i = from; i < to; i++) w.Entry(items[i].Key, items[i].Dependency);
            return Node(scratch.WrittenSpan, []);
        }
        var children = new List<DependencyTrieNode>(16);
        ulong bitmap = 0;
        for (var i = from; i < to;)
        {
            var nibble = Nibble(items[i].Hash, depth);
            var j = i + 1;
            while (j < to && Nibble(items[j].Hash, depth) == nibble) j++;
            children.Add(Build(items, i, j, depth + 1, scratch));
            bitmap |= 1UL << nibble;
            i = j;
        }
        scratch.ResetWrittenCount();
        var inner = new RecordWriter(scratch);
        inner.Byte(InnerKind);
        inner.Unsigned(bitmap);
        foreach (var child in children) inner.Id(child.Id);
        return Node(scratch.WrittenSpan, [.. children]);
    }

    private static DependencyTrieNode Node(ReadOnlySpan<byte> content, DependencyTrieNode[] children)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(content, digest);
        return new DependencyTrieNode(BinaryPrimitives.ReadUInt128BigEndian(digest), content.ToArray(), children);
    }

    private static int Nibble(ulong hash, int depth) => (int)(hash >> (60 - 4 * depth)) & 0xF;

    /// <summary>The ids of the nodes an inner node's <paramref name="content"/> names; none for a leaf.</summary>
    /// <exception cref="FormatException">The bytes are not a node.</exception>
    public static UInt128[] Children(ReadOnlySpan<byte> content)
    {
        var r = new RecordReader(content);
        if (r.Byte() == LeafKind) return [];
        var bitmap = r.Unsigned();
        if (bitmap == 0 || bitmap > 0xFFFF) throw new FormatException("A dependency node names no child, or more than 16.");
        var ids = new UInt128[ulong.PopCount(bitmap)];
        for (var i = 0; i < ids.Length; i++) ids[i] = r.Id();
        if (!r.AtEnd) throw new FormatException("Bytes after the end of a dependency node.");
        return ids;
    }

    /// <summary>
    /// The set whose trie has root <paramref name="root"/>, read through <paramref name="content"/> (a node's bytes, or
    /// null when the source lacks it); it must hold <paramref name="count"/> entries.
    /// </summary>
    /// <exception cref="FormatException">A node is missing or damaged, or the count does not match.</exception>
    public static DependencySet Load(UInt128 root, int count, Func<UInt128, byte[]?> content)
    {
        var entries = new List<KeyValuePair<string, Dependency>>(count);
        Load(root, 0, content, entries, count);
        if (entries.Count != count) throw new FormatException($"A dependency trie holds {entries.Count} entries, its version names {count}.");
        return DependencySet.OfEntries(CollectionsMarshal.AsSpan(entries));
    }

    private static void Load(UInt128 id, int depth, Func<UInt128, byte[]?> content, List<KeyValuePair<string, Dependency>> entries, int count)
    {
        if (depth > MaxDepth) throw new FormatException("A dependency trie is deeper than its keys' hashes allow.");
        var bytes = content(id) ?? throw new FormatException($"Dependency node {id:x32} is missing.");
        var r = new RecordReader(bytes);
        if (r.Byte() != LeafKind)
        {
            foreach (var child in Children(bytes)) Load(child, depth + 1, content, entries, count);
            return;
        }
        var n = r.Count();
        if (entries.Count + n > count) throw new FormatException("A dependency trie holds more entries than its version names.");
        for (var i = 0; i < n; i++) entries.Add(r.Entry());
        if (!r.AtEnd) throw new FormatException("Bytes after the end of a dependency node.");
    }

    private readonly record struct Item(ulong Hash, string Key, Dependency Dependency) : IComparable<Item>
    {
        public int CompareTo(Item other)
        {
            var byHash = Hash.CompareTo(other.Hash);
            return byHash != 0 ? byHash : string.CompareOrdinal(Key, other.Key);
        }
    }
}
