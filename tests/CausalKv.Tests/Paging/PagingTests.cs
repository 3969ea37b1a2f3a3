using System.Text;
using CausalKv.Causality;
using CausalKv.Node.Configuration;
using CausalKv.Node.Storage;
using CausalKv.Paging;
using CausalKv.Storage;
using CausalKv.Tests.Simulation;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CausalKv.Tests.Paging;

/// <summary>Listing a store a page at a time: key order, range scans of both tables, the cursor, the page's budget and metadata.</summary>
public sealed class PagingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("causalkv-paging-").FullName;
    private readonly SimulatedClock _clock = new(() => 1_000_000, 0);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Awkward =
        ["a", "a/b", "a%2F", "ab", "b", "é", "ключ", "鍵", "\uE000", "\uFFFD", "🔑", "🔑x", "z", " ", "~", "a\u0000b", "A"];

    [Property(MaxTest = 1000)]
    public bool Key_order_is_the_order_of_the_UTF8_bytes(string x, string y)
    {
        if (x is null || y is null) return true;
        // Well-formed strings only: a key is decoded from UTF-8, so it holds no lone surrogate.
        x = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(x));
        y = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(y));
        return Math.Sign(KeyOrder.Instance.Compare(x, y)) == Math.Sign(Encoding.UTF8.GetBytes(x).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y)));
    }

    [Fact]
    public void Key_order_puts_characters_above_U_FFFF_after_the_private_use_area_as_their_bytes_do()
    {
        Assert.True(KeyOrder.Instance.Compare("🔑", "\uE000") > 0);
        Assert.True(string.CompareOrdinal("🔑", "\uE000") < 0); // why ordinal string order would not do
    }

    public static TheoryData<string> Tables => ["memory", "rocksdb"];

    private IVersionTable Table(string kind) => kind == "memory"
        ? new MemoryVersionTable()
        : RocksDbVersionTable.Open(Path.Combine(_dir, NodeStorage.StoreFolder), Durability.Process, 8 << 20);

    [Theory]
    [MemberData(nameof(Tables))]
    public void Range_lists_the_keys_after_a_point_with_a_prefix_in_key_order(string kind)
    {
        using var store = new ReplicaStore(_clock, Table(kind));
        store.StartIncarnation(1);
        foreach (var k in Awkward) store.Write(k, "v:" + k, DependencySet.Empty, 1);
        store.Write("ab", null, DependencySet.Empty, 1);
        var ordered = Awkward.Order(KeyOrder.Instance).ToList();

        Assert.Equal(ordered, store.Range(null, "").Select(kv => kv.Key));
        Assert.True(store.Range(null, "").Single(kv => kv.Key == "ab").Value.IsDeleted);
        Assert.Equal(ordered.Where(k => k.StartsWith('a')), store.Range(null, "a").Select(kv => kv.Key));
        Assert.Equal(["a\u0000b", "a%2F", "a/b", "ab"], store.Range("a", "a").Select(kv => kv.Key));
        Assert.Equal(ordered.SkipWhile(k => k != "é").Skip(1), store.Range("é", "").Select(kv => kv.Key));
        Assert.Equal(["🔑x"], store.Range("🔑", "🔑").Select(kv => kv.Key));
        Assert.Equal(ordered.Where(k => KeyOrder.Instance.Compare(k, "c") > 0), store.Range("c", "").Select(kv => kv.Key)); // after a key not stored
        Assert.Empty(store.Range("b", "a"));
        Assert.Empty(store.Range(null, "nothing"));
        Assert.Equal("v:鍵", store.Range(null, "鍵").Single().Value.Value);
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public void Range_forgets_a_removed_key(string kind)
    {
        var table = Table(kind);
        using var store = new ReplicaStore(_clock, table);
        store.StartIncarnation(1);
        var v = store.Write("gone", "v", DependencySet.Empty, 1);
        store.Write("stays", "v", DependencySet.Empty, 1);
        table.Remove("gone", v);
        table.Commit();
        Assert.Equal(["stays"], store.Range(null, "").Select(kv => kv.Key));
    }

    [Fact]
    public void A_cursor_reads_back_what_it_was_made_of()
    {
        foreach (var key in Awkward.Append(new string('k', 1024)))
        {
            Assert.True(PageCursor.TryReadShard(PageCursor.ForShard(key), out var back, out var error), error);
            Assert.Equal(key, back);
            Assert.True(PageCursor.TryReadCluster(PageCursor.ForCluster("shard1", key), out var shard, out back, out error), error);
            Assert.Equal(("shard1", key), (shard, back));
        }
        Assert.True(PageCursor.TryReadCluster(PageCursor.ForCluster("ß", null), out var s, out var none, out _));
        Assert.Equal(("ß", null), (s, none));
        Assert.DoesNotContain(PageCursor.ForShard("a/b?c=d&e#f+ g"), c => c is '/' or '+' or '=' or '?' or '&' or '#' or ' ');
    }

    public static TheoryData<string> BadCursors => new()
    {
        "x", "!!!", "AAAA", "bm90IGEgY3Vyc29y", PageCursor.ForShard("k")[..^2], PageCursor.ForShard("k") + "A",
        Flip(PageCursor.ForShard("key")), Convert.ToBase64String([1, 0xFF, 0xFE, 0, 0, 0, 0]),
    };

    private static string Flip(string cursor)
    {
        var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(cursor);
        bytes[1] ^= 1;
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    [Theory]
    [MemberData(nameof(BadCursors))]
    public void A_cursor_the_store_did_not_give_is_refused_with_a_message(string cursor)
    {
        Assert.False(PageCursor.TryReadShard(cursor, out _, out var error));
        Assert.Contains("cursor", error);
        Assert.False(PageCursor.TryReadCluster(cursor, out _, out _, out error));
        Assert.Contains("cursor", error);
    }

    [Fact]
    public void A_node_cursor_at_the_router_and_the_other_way_round_say_so()
    {
        Assert.False(PageCursor.TryReadCluster(PageCursor.ForShard("k"), out _, out _, out var error));
        Assert.Contains("node", error);
        Assert.False(PageCursor.TryReadShard(PageCursor.ForCluster("s", "k"), out _, out error));
        Assert.Contains("router", error);
    }

    public static TheoryData<string, string> BadQueries => new()
    {
        { "limit=0", "limit" }, { "limit=10001", "limit" }, { "limit=-1", "limit" }, { "limit=abc", "limit" }, { "limit=", "limit" },
        { "limit=1&limit=2", "once" }, { "cursor=", "cursor" }, { "prefix=" + new string('p', 1025), "prefix" },
    };

    [Theory]
    [MemberData(nameof(BadQueries))]
    public void Bad_paging_parameters_are_named_in_the_error(string query, string named)
    {
        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + query);
        Assert.False(PageQuery.TryParse(n => parsed.TryGetValue(n, out var v) ? v.ToArray() : [], out _, out var error));
        Assert.Contains(named, error);
    }

    [Fact]
    public void No_paging_parameter_is_the_unpaged_form_and_any_one_of_them_pages()
    {
        Assert.True(PageQuery.TryParse(_ => [], out var q, out _));
        Assert.False(q.IsPaged);
        Assert.True(PageQuery.TryParse(n => n == "prefix" ? ["p"] : [], out q, out _));
        Assert.Equal(new PageQuery(true, PageQuery.DefaultLimit, null, "p"), q);
        Assert.True(PageQuery.TryParse(n => n == "limit" ? ["7"] : [], out q, out _));
        Assert.Equal(new PageQuery(true, 7, null, ""), q);
    }

    [Fact]
    public void Pages_list_every_owned_live_key_once_in_order_within_their_budgets()
    {
        using var store = new ReplicaStore(_clock, new MemoryVersionTable());
        store.StartIncarnation(1);
        var keys = Enumerable.Range(0, 300).Select(i => $"k{i:D3}").ToList();
        foreach (var k in keys) store.Write(k, new string('v', k.EndsWith('7') ? 5000 : 10), DependencySet.Empty, 1);
        foreach (var k in keys.Where(k => k.EndsWith('3'))) store.Write(k, null, DependencySet.Empty, 1);
        bool Owns(string k) => !k.EndsWith('5');

        var listed = new List<string>();
        string? after = null;
        var pages = 0;
        while (true)
        {
            var page = ShardPage.Read(store.Range(after, "k"), after, "k", Owns, DependencySet.Empty, PageBudget.ForLimit(25, 12_000));
            pages++;
            Assert.InRange(page.Items.Count, page.More ? 1 : 0, 25);
            Assert.True(page.Items.Count == 1 || page.Items.Sum(kv => kv.Key.Length + kv.Value.Length) <= 12_000);
            listed.AddRange(page.Items.Select(kv => kv.Key));
            if (!page.More) break;
            after = page.Last;
        }
        Assert.Equal(keys.Where(k => Owns(k) && !k.EndsWith('3')), listed);
        Assert.InRange(pages, 10, 60);
    }

    [Fact]
    public void A_page_stops_after_its_scan_budget_even_with_nothing_to_show()
    {
        using var store = new ReplicaStore(_clock, new MemoryVersionTable());
        store.StartIncarnation(1);
        for (var i = 0; i < 1000; i++) store.Write($"d{i:D4}", null, DependencySet.Empty, 1);
        store.Write("z", "live", DependencySet.Empty, 1);
        var page = ShardPage.Read(store.Range(null, ""), null, "", _ => true, DependencySet.Empty, PageBudget.ForLimit(1, 1 << 20));
        Assert.Empty(page.Items);
        Assert.True(page.More);
        Assert.Equal("d0259", page.Last);
    }

    [Fact]
    public void A_page_covers_its_range_and_its_metadata_the_versions_in_it()
    {
        using var store = new ReplicaStore(_clock, new MemoryVersionTable());
        store.StartIncarnation(1);
        foreach (var k in new[] { "a", "b", "c", "d", "e" }) store.Write(k, "v" + k, DependencySet.Empty, 1);
        var page = ShardPage.Read(store.Range("a", ""), "a", "", _ => true, DependencySet.Empty, PageBudget.ForLimit(2, 1 << 20));
        Assert.Equal(["b", "c"], page.Items.Select(kv => kv.Key));
        Assert.True(page.More);
        Assert.Equal(["b", "c"], page.After.Entries.Select(e => e.Key).Order());
        Assert.Equal(store.Get("b")!.AsDependency(), page.After["b"]);
        Assert.False(page.Covers("a"));
        Assert.True(page.Covers("bb"));
        Assert.False(page.Covers("ca"));

        var last = ShardPage.Read(store.Range("c", ""), "c", "", _ => true, page.After, PageBudget.ForLimit(2, 1 << 20));
        Assert.False(last.More);
        Assert.True(last.Covers("zzz"));
        Assert.Equal(["b", "c", "d", "e"], last.After.Entries.Select(e => e.Key).Order()); // the session keeps what it saw before
    }

    [Fact]
    public void A_page_waits_only_for_a_missing_write_among_the_keys_it_covers()
    {
        using var writer = new ReplicaStore(_clock, new MemoryVersionTable());
        writer.StartIncarnation(9);
        using var reader = new ReplicaStore(_clock, new MemoryVersionTable());
        reader.StartIncarnation(2);
        foreach (var k in new[] { "a", "b", "c", "d" }) reader.Write(k, "old", DependencySet.Empty, 2);
        // The session wrote "d" on the writer (its tag outranks the reader's version: it could change the answer); the reader lacks it.
        var session = CausalRead.AfterObserving(DependencySet.Empty, "d", writer.Write("d", "new", DependencySet.Empty, 9));

        var first = ShardPage.Read(reader.Range(null, ""), null, "", _ => true, session, PageBudget.ForLimit(2, 1 << 20));
        Assert.Null(CausalRead.MissingInShard(session, first.Covers, reader.Get));
        var second = ShardPage.Read(reader.Range(first.Last, ""), first.Last, "", _ => true, first.After, PageBudget.ForLimit(2, 1 << 20));
        Assert.Equal("d", CausalRead.MissingInShard(first.After, second.Covers, reader.Get)?.Key);
    }

    /// <summary>
    /// A page read while the replica lacked a write the session depends on must not answer once the write arrived: the
    /// table satisfies the session then, but the page shows the older version. It answers only when read again.
    /// </summary>
    [Fact]
    public void A_page_read_before_a_missing_write_arrived_is_judged_by_what_it_read()
    {
        using var writer = new ReplicaStore(_clock, new MemoryVersionTable());
        writer.StartIncarnation(9);
        using var reader = new ReplicaStore(_clock, new MemoryVersionTable());
        reader.StartIncarnation(2);
        foreach (var k in new[] { "a", "b" }) reader.Write(k, "old", DependencySet.Empty, 2);
        var written = writer.Write("b", "new", DependencySet.Empty, 9);
        var session = CausalRead.AfterObserving(DependencySet.Empty, "b", written);

        var page = ShardPage.Read(reader.Range(null, ""), null, "", _ => true, session, PageBudget.ForLimit(10, 1 << 20));
        Assert.Equal("b", page.Missing?.Key);
        reader.Import([new("b", written)]);
        // The table has the write now: judged by the table, the page read before it would answer "old".
        Assert.Null(CausalRead.MissingInShard(session, page.Covers, reader.Get));
        Assert.Equal("old", page.Items.Single(kv => kv.Key == "b").Value);
        Assert.Equal("b", page.Missing?.Key);

        var again = ShardPage.Read(reader.Range(null, ""), null, "", _ => true, session, PageBudget.ForLimit(10, 1 << 20));
        Assert.Null(again.Missing);
        Assert.Equal("new", again.Items.Single(kv => kv.Key == "b").Value);
    }

    [Fact]
    public void A_page_misses_a_depended_on_key_absent_when_it_was_read_and_nothing_outside_its_range()
    {
        using var writer = new ReplicaStore(_clock, new MemoryVersionTable());
        writer.StartIncarnation(9);
        using var reader = new ReplicaStore(_clock, new MemoryVersionTable());
        reader.StartIncarnation(2);
        foreach (var k in new[] { "a", "c", "e" }) reader.Write(k, "v", DependencySet.Empty, 2);
        var session = CausalRead.AfterObserving(DependencySet.Empty, "b", writer.Write("b", "new", DependencySet.Empty, 9));
        session = CausalRead.AfterObserving(session, "d", writer.Write("d", "new", DependencySet.Empty, 9));

        var first = ShardPage.Read(reader.Range(null, ""), null, "", _ => true, session, PageBudget.ForLimit(1, 1 << 20));
        Assert.Equal("a", first.Last);
        Assert.Null(first.Missing);
        var all = ShardPage.Read(reader.Range(null, ""), null, "", k => k != "b", session, PageBudget.ForLimit(10, 1 << 20));
        Assert.Equal("d", all.Missing?.Key);
    }
}
