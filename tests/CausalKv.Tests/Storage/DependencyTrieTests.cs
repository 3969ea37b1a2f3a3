using CausalKv.Causality;
using CausalKv.Storage;

namespace CausalKv.Tests.Storage;

/// <summary>Large dependency sets stored once, as tries whose nodes versions share and count.</summary>
public sealed class DependencyTrieTests
{
    private static Dependency Dep(Random rng) =>
        new(VersionVector.Empty.With(rng.Next(1, 4), rng.Next(1, 1000)).With(rng.Next(4, 8), rng.Next(1, 1000)), new WriteTag(rng.Next(1, 1_000_000), rng.Next(0, 5)));

    private static DependencySet RandomSet(Random rng, int count, string prefix = "k")
    {
        var set = DependencySet.Empty;
        while (set.Count < count) set = set.With($"{prefix}{rng.Next(0, count * 4)}", Dep(rng));
        return set;
    }

    /// <summary>Committed node records, as an engine would hold them.</summary>
    private sealed class NodeRecords
    {
        public Dictionary<UInt128, byte[]> Records { get; } = [];

        public DependencyNodeWriter Writer() => new(id => Records.GetValueOrDefault(id));

        public void Commit(DependencyNodeWriter writer) => writer.Flush((id, record) =>
        {
            if (record is null) Records.Remove(id);
            else Records[id] = record;
        });

        public byte[]? Content(UInt128 id) => Records.TryGetValue(id, out var r) ? DependencyNodeWriter.ContentOf(r) : null;

        public long Bytes => Records.Values.Sum(r => (long)r.Length);
    }

    [Fact]
    public void A_set_loads_back_from_its_trie_equal_as_a_map()
    {
        var rng = new Random(11);
        foreach (var size in new[] { 0, 1, 33, 100, 513, 2_000 })
        {
            var set = RandomSet(rng, size);
            var records = new NodeRecords();
            var writer = records.Writer();
            var root = writer.Retain(set);
            records.Commit(writer);
            var back = DependencyTrie.Load(root, set.Count, records.Content);
            Assert.Equal(set.Count, back.Count);
            foreach (var (k, d) in set.Entries) Assert.Equal(d, back[k]);
        }
    }

    [Fact]
    public void The_trie_is_a_function_of_the_set_and_one_changed_entry_changes_only_its_path()
    {
        var rng = new Random(5);
        var entries = RandomSet(rng, 1_000).Entries.ToList();
        var forward = DependencySet.Of(entries);
        var backward = DependencySet.Of(Enumerable.Reverse(entries));
        var a = DependencyTrie.Build(forward);
        Assert.Equal(a.Id, DependencyTrie.Build(backward).Id);

        var changed = forward.With(entries[0].Key, new Dependency(VersionVector.Empty.With(99, 99), new WriteTag(2_000_000, 1)));
        var b = DependencyTrie.Build(changed);
        Assert.NotEqual(a.Id, b.Id);
        var before = Ids(a).ToHashSet();
        var after = Ids(b).ToList();
        // 1,000 entries make two levels: the root and the leaf (or inner node) on the changed key's path are new.
        Assert.InRange(after.Count(id => !before.Contains(id)), 2, 3);
    }

    private static IEnumerable<UInt128> Ids(DependencyTrieNode node) => node.Children.SelectMany(Ids).Prepend(node.Id);

    /// <summary>
    /// The case the trie is for: a session cut off from its peers writes N keys, and write i depends on the i - 1
    /// before it. Inline, the sets take N²/2 entries; shared, each write adds a leaf and the inner nodes above it.
    /// </summary>
    [Fact]
    public void A_session_cut_off_from_its_peers_stores_its_dependencies_in_space_near_linear_in_its_writes()
    {
        long SharedBytes(int n, out long inlineBytes)
        {
            var rng = new Random(3);
            var records = new NodeRecords();
            var writer = records.Writer();
            var session = DependencySet.Empty;
            inlineBytes = 0;
            for (var i = 0; i < n; i++)
            {
                if (DependencyTrie.IsShared(session))
                {
                    writer.Retain(session);
                    records.Commit(writer);
                }
                inlineBytes += session.Entries.Sum(e => e.Key.Length + 12L);
                session = session.With($"key-{i}", Dep(rng));
            }
            return records.Bytes;
        }

        var small = SharedBytes(1_000, out var smallInline);
        var large = SharedBytes(2_000, out var largeInline);
        Assert.InRange((double)largeInline / smallInline, 3.9, 4.1); // the N² it replaces
        Assert.InRange((double)large / small, 1.8, 2.6);
        Assert.True(large * 20 < largeInline, $"shared {large} bytes against {largeInline} inline");
    }

    /// <summary>
    /// Versions come and go in random commits, their sets made from each other by small changes so that tries share
    /// nodes. After every commit each version loads equal to its set, every stored node is named (by a version or an
    /// inner node) exactly as many times as its count says, and nothing unnamed is stored.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Reference_counts_match_the_versions_and_nodes_that_name_each_node(int seed)
    {
        var rng = new Random(seed);
        var records = new NodeRecords();
        var writer = records.Writer();
        var versions = new Dictionary<string, DependencySet>();
        var pool = new List<DependencySet> { RandomSet(rng, 40), RandomSet(rng, 300), RandomSet(rng, 90, "j") };
        for (var step = 0; step < 300; step++)
        {
            var key = $"v{rng.Next(0, 12)}";
            versions.TryGetValue(key, out var previous);
            if (previous is not null && rng.Next(0, 5) == 0)
            {
                writer.Release(previous);
                versions.Remove(key);
            }
            else
            {
                var set = pool[rng.Next(pool.Count)];
                for (var c = rng.Next(0, 4); c > 0; c--)
                    set = rng.Next(0, 3) == 0 && set.Count > 0 ? set.Without(set.Entries.ElementAt(rng.Next(set.Count)).Key) : set.With($"n{rng.Next(0, 500)}", Dep(rng));
                pool.Add(set);
                if (DependencyTrie.IsShared(set)) writer.Retain(set);
                if (previous is not null && DependencyTrie.IsShared(previous)) writer.Release(previous);
                versions[key] = set;
            }
            if (rng.Next(0, 3) != 0) continue;
            records.Commit(writer);
            CheckCounts(records, versions.Values.Where(DependencyTrie.IsShared));
        }
        foreach (var set in versions.Values.Where(DependencyTrie.IsShared)) writer.Release(set);
        records.Commit(writer);
        Assert.Empty(records.Records);
    }

    private static void CheckCounts(NodeRecords records, IEnumerable<DependencySet> live)
    {
        var expected = new Dictionary<UInt128, long>();
        void Name(UInt128 id) => expected[id] = expected.GetValueOrDefault(id) + 1;
        foreach (var set in live)
        {
            var root = DependencyTrie.Build(set).Id;
            Name(root);
            var back = DependencyTrie.Load(root, set.Count, records.Content);
            foreach (var (k, d) in set.Entries) Assert.Equal(d, back[k]);
        }
        foreach (var (_, record) in records.Records)
            foreach (var child in DependencyTrie.Children(DependencyNodeWriter.ContentOf(record))) Name(child);
        Assert.Equal(expected.Keys.Order(), records.Records.Keys.Order());
        foreach (var (id, record) in records.Records) Assert.Equal(expected[id], DependencyNodeWriter.ReferencesOf(record));
    }

    [Fact]
    public void A_missing_node_or_a_wrong_count_is_refused_never_read_as_a_smaller_set()
    {
        var set = RandomSet(new Random(9), 400);
        var records = new NodeRecords();
        var writer = records.Writer();
        var root = writer.Retain(set);
        records.Commit(writer);
        Assert.Throws<FormatException>(() => DependencyTrie.Load(root, set.Count + 1, records.Content));
        Assert.Throws<FormatException>(() => DependencyTrie.Load(root, set.Count - 1, records.Content));
        var leaf = records.Records.Keys.First(id => id != root && DependencyTrie.Children(records.Content(id)!).Length == 0);
        records.Records.Remove(leaf);
        Assert.Throws<FormatException>(() => DependencyTrie.Load(root, set.Count, records.Content));

        var version = new StoredVersion("v", new WriteTag(1, 1), VersionVector.Empty.With(1, 1), set);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        VersionRecordCodec.Encode(version, buffer, root);
        Assert.True(VersionRecordCodec.SharesDependencies(buffer.WrittenSpan));
        Assert.Throws<FormatException>(() => VersionRecordCodec.Decode(buffer.WrittenSpan));
    }
}
