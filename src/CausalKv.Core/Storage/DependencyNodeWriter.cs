// DependencyNodeWriter: the reference counts of dependency-trie nodes in an engine, changed between its commits.
//
// An engine record of a node is its reference count (a varint) followed by its bytes. A node is referenced once by every
// version record that names it as a root and once by every inner node that names it as a child, so storing a set adds
// the nodes it does not share and counts one more reference to the top of each subtree it does share; releasing a set
// undoes exactly that, deleting the nodes nothing names any more and releasing their children in turn.
// Invariant: after Flush, every stored node's count equals the number of version records and stored inner nodes that
// name it, and no node is stored that none names; the changes of one commit are written together with its versions.
using System.Buffers;
using CausalKv.Causality;

namespace CausalKv.Storage;

/// <summary>
/// Retains and releases dependency sets' tries over an engine's committed node records. Single writer: the table's
/// owner calls it under its own lock, and writes what <see cref="Flush"/> gives into the same commit as the versions.
/// </summary>
/// <param name="committed">the engine's committed record of a node, or null</param>
public sealed class DependencyNodeWriter(Func<UInt128, byte[]?> committed)
{
    private readonly Dictionary<UInt128, Pending> _pending = [];

    /// <summary>Nodes changed since the last flush.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Stores <paramref name="deps"/>'s trie (sharing every node already stored) and returns its root's id.</summary>
    public UInt128 Retain(DependencySet deps)
    {
        var root = DependencyTrie.Build(deps);
        Retain(root);
        return root.Id;
    }

    private void Retain(DependencyTrieNode node)
    {
        if (Find(node.Id) is { References: > 0 } stored)
        {
            stored.References++;
            return;
        }
        // New, or dropped earlier in this commit (its children were released then): either way it takes its children anew.
        _pending[node.Id] = new Pending(node.Content) { References = 1 };
        foreach (var child in node.Children) Retain(child);
    }

    /// <summary>Drops the reference of one version to <paramref name="deps"/>'s trie.</summary>
    public void Release(DependencySet deps) => Release(DependencyTrie.Build(deps).Id);

    private void Release(UInt128 id)
    {
        // A node already gone leaves nothing to release: the version that named it could not have been read either.
        if (Find(id) is not { References: > 0 } stored) return;
        if (--stored.References > 0) return;
        foreach (var child in DependencyTrie.Children(stored.Content)) Release(child);
    }

    /// <summary>Hands every changed node to <paramref name="write"/> (its new record, or null to delete it) and forgets them.</summary>
    public void Flush(Action<UInt128, byte[]?> write)
    {
        foreach (var (id, node) in _pending) write(id, node.References > 0 ? Record(node.References, node.Content) : null);
        _pending.Clear();
    }

    /// <summary>The bytes of a node in its engine record.</summary>
    /// <exception cref="FormatException">The record is damaged.</exception>
    public static byte[] ContentOf(ReadOnlySpan<byte> record)
    {
        var r = new RecordReader(record);
        r.Unsigned();
        return r.Rest.ToArray();
    }

    /// <summary>How many references the engine record of a node counts.</summary>
    public static long ReferencesOf(ReadOnlySpan<byte> record) => (long)new RecordReader(record).Unsigned();

    private Pending? Find(UInt128 id)
    {
        if (_pending.TryGetValue(id, out var pending)) return pending;
        if (committed(id) is not { } record) return null;
        var r = new RecordReader(record);
        var references = (long)r.Unsigned();
        pending = new Pending(r.Rest.ToArray()) { References = references };
        _pending[id] = pending;
        return pending;
    }

    private static byte[] Record(long references, byte[] content)
    {
        var buffer = new ArrayBufferWriter<byte>(content.Length + 4);
        new RecordWriter(buffer).Unsigned((ulong)references);
        buffer.Write(content);
        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Pending(byte[] content)
    {
        public byte[] Content { get; } = content;

        public long References { get; set; }
    }
}
