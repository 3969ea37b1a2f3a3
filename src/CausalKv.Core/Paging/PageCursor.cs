using System.Buffers.Binary;
using System.Buffers.Text;
using System.IO.Hashing;
using System.Text;

namespace CausalKv.Paging;

/// <summary>
/// The opaque <c>next-cursor</c> of a paged <c>GET /data</c>: base64url of a kind byte, where the page ended and a
/// checksum. A node's names the last key it looked at; the router's also names the shard it was in (shards are listed
/// in ordinal order of their names, each in <see cref="Storage.KeyOrder"/>). The checksum tells a cursor this store
/// wrote from text that only decodes; a cursor grants nothing, so it is not signed.
/// </summary>
public static class PageCursor
{
    private const byte ShardKind = 1;
    private const byte ClusterKind = 2;
    private const int ChecksumBytes = 4;
    private const int MaxKeyBytes = 1024;
    private const int MaxShardBytes = 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>A node's cursor: the page ended at <paramref name="lastKey"/>; the next starts after it.</summary>
    public static string ForShard(string lastKey)
    {
        var key = Encoding.UTF8.GetBytes(lastKey);
        return Seal([ShardKind, .. key]);
    }

    /// <summary>The router's cursor: the page ended in <paramref name="shard"/> at <paramref name="lastKey"/> (null: before its first key).</summary>
    public static string ForCluster(string shard, string? lastKey)
    {
        var name = Encoding.UTF8.GetBytes(shard);
        var key = lastKey is null ? [] : Encoding.UTF8.GetBytes(lastKey);
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)name.Length);
        return Seal([ClusterKind, .. length, .. name, .. key]);
    }

    public static bool TryReadShard(string cursor, out string? lastKey, out string? error)
    {
        lastKey = null;
        if (!TryOpen(cursor, ShardKind, out var content, out error)) return false;
        if (!TryKey(content, out lastKey) || lastKey is null) return Bad(out error);
        return true;
    }

    /// <param name="lastKey">null when the page ended before the shard's first key</param>
    public static bool TryReadCluster(string cursor, out string shard, out string? lastKey, out string? error)
    {
        shard = "";
        lastKey = null;
        if (!TryOpen(cursor, ClusterKind, out var content, out error)) return false;
        if (content.Length < 2) return Bad(out error);
        var length = BinaryPrimitives.ReadUInt16BigEndian(content);
        if (length == 0 || length > MaxShardBytes || content.Length < 2 + length) return Bad(out error);
        try { shard = StrictUtf8.GetString(content.Slice(2, length)); }
        catch (DecoderFallbackException) { return Bad(out error); }
        return TryKey(content[(2 + length)..], out lastKey) || Bad(out error);
    }

    private static bool TryKey(ReadOnlySpan<byte> bytes, out string? key)
    {
        key = null;
        if (bytes.IsEmpty) return true;
        if (bytes.Length > MaxKeyBytes) return false;
        try { key = StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return false; }
        return true;
    }

    private static string Seal(byte[] content)
    {
        var sealed_ = new byte[content.Length + ChecksumBytes];
        content.CopyTo(sealed_, 0);
        BinaryPrimitives.WriteUInt32BigEndian(sealed_.AsSpan(content.Length), XxHash32.HashToUInt32(content));
        return Base64Url.EncodeToString(sealed_);
    }

    private static bool TryOpen(string cursor, byte kind, out ReadOnlySpan<byte> content, out string? error)
    {
        content = default;
        error = null;
        if (cursor.Length > 4 * (MaxKeyBytes + MaxShardBytes)) return Bad(out error);
        byte[] bytes;
        try { bytes = Base64Url.DecodeFromChars(cursor); }
        catch (FormatException) { return Bad(out error); }
        if (bytes.Length < 1 + ChecksumBytes) return Bad(out error);
        var body = bytes.AsSpan(0, bytes.Length - ChecksumBytes);
        if (BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(body.Length)) != XxHash32.HashToUInt32(body)) return Bad(out error);
        if (body[0] != kind)
        {
            error = kind == ShardKind
                ? "cursor is a router's: pass it back to the router that gave it (a node's cursor comes from that node's shard)."
                : "cursor is a node's: pass it back to a node of the shard that gave it (the router's cursor comes from the router).";
            return false;
        }
        content = body[1..];
        return true;
    }

    private static bool Bad(out string? error)
    {
        error = "cursor is not one this store gave: pass the next-cursor of the previous page unchanged, or leave it out for the first page.";
        return false;
    }
}
