using CausalKv.Causality;
using CausalKv.Storage;

namespace CausalKv.Paging;

/// <summary>
/// One page of a shard's keys, read from a range of a replica's table in <see cref="KeyOrder"/>.
/// Invariants: <see cref="Items"/> are the live keys of the shard in the range the page covers (<see cref="Covers"/>:
/// after the cursor, with the prefix, up to <see cref="Last"/> when <see cref="More"/>, else to the end), in order;
/// <see cref="After"/> is the session's dependencies joined with every version of the shard in that range (deleted ones
/// too: a listing observes that they are gone), so the metadata of the answer covers exactly what the page showed; and
/// a read that waits for nothing among <see cref="Covers"/> keys waits for nothing it returns.
/// <see cref="Missing"/> is judged on the versions the page read, not on the table as it is later: a write that
/// arrives after the page was read satisfies the session but is not in the page, so only a page read again shows it.
/// </summary>
public sealed class ShardPage
{
    private ShardPage(string? after, string prefix, List<KeyValuePair<string, string>> items, DependencySet observed, string? last, bool more)
    {
        StartsAfter = after;
        Prefix = prefix;
        Items = items;
        After = observed;
        Last = last;
        More = more;
    }

    /// <summary>The key the page starts after (the cursor's), or null from the first.</summary>
    public string? StartsAfter { get; }

    public string Prefix { get; }

    /// <summary>The live keys and values, in <see cref="KeyOrder"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Items { get; }

    /// <summary>The session's dependencies after observing the page (not pruned).</summary>
    public DependencySet After { get; }

    /// <summary>The last key looked at (of this shard or not); where the next page starts after when <see cref="More"/>.</summary>
    public string? Last { get; }

    /// <summary>The page stopped at its budget: keys may follow <see cref="Last"/>.</summary>
    public bool More { get; }

    /// <summary>
    /// The first dependency of the session on a key of the shard in the page's range that the page's own version of the
    /// key (none: absent when read) lacks and could be changed by (see <see cref="CausalRead.Missing"/>); null when the
    /// page may answer.
    /// </summary>
    public KeyValuePair<string, Dependency>? Missing { get; private init; }

    /// <summary>Whether <paramref name="key"/> is in the range the page covers (ownership aside).</summary>
    public bool Covers(string key) =>
        key.StartsWith(Prefix, StringComparison.Ordinal)
        && (StartsAfter is null || KeyOrder.Instance.Compare(key, StartsAfter) > 0)
        && (!More || KeyOrder.Instance.Compare(key, Last) <= 0);

    /// <param name="range">the table's keys after <paramref name="after"/> with <paramref name="prefix"/>, in key order</param>
    /// <param name="owns">whether a key belongs to the shard (a replica may still hold keys handed to another)</param>
    public static ShardPage Read(IEnumerable<KeyValuePair<string, StoredVersion>> range, string? after, string prefix,
        Func<string, bool> owns, DependencySet session, PageBudget budget)
    {
        var items = new List<KeyValuePair<string, string>>();
        var observed = session;
        string? last = null;
        long bytes = 0;
        var scanned = 0;
        var more = false;
        // The versions read of the keys the session depends on, to judge the page by what it shows.
        Dictionary<string, StoredVersion>? depended = null;
        foreach (var (key, version) in range)
        {
            var size = version.IsDeleted ? 0 : System.Text.Encoding.UTF8.GetByteCount(key) + (long)System.Text.Encoding.UTF8.GetByteCount(version.Value!);
            var owned = owns(key);
            if (scanned >= budget.Scanned || owned && !version.IsDeleted && items.Count > 0 && (items.Count >= budget.Items || bytes + size > budget.Bytes))
            {
                more = true;
                break;
            }
            scanned++;
            last = key;
            if (!owned) continue;
            if (session[key] is not null) (depended ??= new(StringComparer.Ordinal))[key] = version;
            observed = CausalRead.AfterObserving(observed, key, version);
            if (version.IsDeleted) continue;
            items.Add(new(key, version.Value!));
            bytes += size;
        }
        var page = new ShardPage(after, prefix, items, observed, last, more);
        if (session.IsEmpty) return page;
        var missing = CausalRead.MissingInShard(session, k => owns(k) && page.Covers(k), k => depended?.GetValueOrDefault(k));
        return missing is null ? page : new ShardPage(after, prefix, items, observed, last, more) { Missing = missing };
    }
}
