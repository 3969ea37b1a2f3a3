using System.Text;

namespace CausalKv.Paging;

/// <summary>
/// What a <c>GET /data</c> asks for: the whole store at once (no <c>limit</c>, <c>cursor</c> or <c>prefix</c>), or a
/// page: at most <see cref="Limit"/> keys starting with <see cref="Prefix"/>, after the point <see cref="Cursor"/> names.
/// </summary>
public sealed record PageQuery(bool IsPaged, int Limit, string? Cursor, string Prefix)
{
    public const int DefaultLimit = 1000;
    public const int MaxLimit = 10_000;
    public const int MaxPrefixBytes = 1024;

    public static readonly PageQuery Unpaged = new(false, 0, null, "");

    /// <summary>Reads the query parameters (<paramref name="values"/> gives every value a name has); an error message for bad ones.</summary>
    public static bool TryParse(Func<string, IReadOnlyList<string?>> values, out PageQuery query, out string? error)
    {
        query = Unpaged;
        error = null;
        var limits = values("limit");
        var cursors = values("cursor");
        var prefixes = values("prefix");
        if (limits.Count > 1 || cursors.Count > 1 || prefixes.Count > 1)
        {
            error = "Give limit, cursor and prefix at most once each.";
            return false;
        }
        if (limits.Count == 0 && cursors.Count == 0 && prefixes.Count == 0) return true;
        var limit = DefaultLimit;
        if (limits.Count == 1 && (!int.TryParse(limits[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit)
                                  || limit is < 1 or > MaxLimit))
        {
            error = $"limit must be a whole number from 1 to {MaxLimit} (default {DefaultLimit}).";
            return false;
        }
        var cursor = cursors.Count == 1 ? cursors[0] : null;
        if (cursors.Count == 1 && string.IsNullOrEmpty(cursor))
        {
            error = "cursor is empty: pass the next-cursor of the previous page, or leave it out for the first page.";
            return false;
        }
        var prefix = prefixes.Count == 1 ? prefixes[0] ?? "" : "";
        if (Encoding.UTF8.GetByteCount(prefix) > MaxPrefixBytes)
        {
            error = $"prefix is over {MaxPrefixBytes} UTF-8 bytes (keys are at most 1024).";
            return false;
        }
        query = new PageQuery(true, limit, cursor, prefix);
        return true;
    }
}
