namespace CausalKv.Storage;

/// <summary>One node of a dependency set's trie (see <see cref="DependencyTrie"/>): its id, its bytes, and the nodes it names.</summary>
public sealed class DependencyTrieNode(UInt128 id, byte[] content, DependencyTrieNode[] children)
{
    /// <summary>The first 128 bits of the SHA-256 of <see cref="Content"/>.</summary>
    public UInt128 Id { get; } = id;

    public byte[] Content { get; } = content;

    public IReadOnlyList<DependencyTrieNode> Children { get; } = children;
}
