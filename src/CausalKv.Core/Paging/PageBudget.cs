namespace CausalKv.Paging;

/// <summary>
/// Where a page stops: at <paramref name="Items"/> keys, before its keys and values pass <paramref name="Bytes"/> (UTF-8;
/// a page holds at least one key whatever its size), or once <paramref name="Scanned"/> versions were looked at (deleted
/// keys and keys of other shards included), so a page costs O(page) whatever the store holds.
/// </summary>
public readonly record struct PageBudget(int Items, long Bytes, int Scanned)
{
    /// <summary>The budget of a page of <paramref name="limit"/> keys: room to step over some deleted or foreign keys per key.</summary>
    public static PageBudget ForLimit(int limit, long bytes) => new(limit, bytes, limit * 4 + 256);
}
