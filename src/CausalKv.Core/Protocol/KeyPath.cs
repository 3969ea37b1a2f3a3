using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Unicode;

namespace CausalKv.Protocol;

/// <summary>
/// Where a key sits in a request: <c>/data/{key}</c>, the key one path segment, percent-encoded UTF-8. Nodes, the router
/// and the client read and write it here, so a key reaches its owner byte for byte however many hops it takes.
/// Invariant: <c>Decode(Escape(k)) == k</c> for every key, and the key of a request is its raw target's segment
/// percent-decoded exactly once. Servers must not read keys from a decoded path: Kestrel decodes every escape but
/// <c>%2F</c> and removes dot segments, so <c>a%2Fb</c> and <c>a%252Fb</c> arrive as one path and <c>%2E</c> as none.
/// Senders must not let <see cref="Uri"/> canonicalize (it undoes <c>%2E</c>, then removes dot segments): build the
/// URI with <see cref="UriOptions"/>.
/// </summary>
public static class KeyPath
{
    /// <summary>The path every key is under.</summary>
    public const string Prefix = "/data/";

    /// <summary>URI options that send a path and query exactly as written (no escapes undone, no dot segments removed).</summary>
    public static readonly UriCreationOptions UriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>
    /// The key as one path segment: every byte of its UTF-8 but the unreserved ones escaped (<see cref="Uri.EscapeDataString(string)"/>),
    /// and a key of only dots escaped whole, so no URL parser on the way takes it for a dot segment.
    /// </summary>
    public static string Escape(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var escaped = Uri.EscapeDataString(key);
        return escaped.Length > 0 && escaped.AsSpan().IndexOfAnyExcept('.') < 0 ? escaped.Replace(".", "%2E", StringComparison.Ordinal) : escaped;
    }

    /// <summary><c>/data/</c> and the escaped key.</summary>
    public static string PathOf(string key) => Prefix + Escape(key);

    /// <summary>The URI of <paramref name="key"/> at <paramref name="origin"/> (<c>http://host:port</c>), sent exactly as built.</summary>
    /// <param name="query">The query, from its <c>?</c> on, already escaped; empty for none.</param>
    public static Uri UriOf(string origin, string key, string query = "") => new(origin.TrimEnd('/') + PathOf(key) + query, in UriOptions);

    /// <summary>
    /// Reads the key of a raw request target (origin form <c>/data/k?q</c>, or absolute form <c>http://h/data/k</c>).
    /// </summary>
    /// <returns><see cref="KeyTargetKind.NotKey"/> when the target is not under <c>/data/</c> or names no key (<c>/data/</c>);
    /// <see cref="KeyTargetKind.Invalid"/> with <paramref name="error"/> when it does but the key is not one segment of
    /// percent-encoded UTF-8; <see cref="KeyTargetKind.Key"/> with <paramref name="key"/> otherwise.</returns>
    public static KeyTargetKind Parse(string? rawTarget, out string? key, out string? error)
    {
        key = null;
        error = null;
        if (string.IsNullOrEmpty(rawTarget)) return KeyTargetKind.NotKey;
        var path = rawTarget.AsSpan();
        // A request target has no fragment: a '#' in it is part of the key, and the query starts at the first '?'.
        var query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        if (path.Length > 0 && path[0] != '/')
        {
            // Absolute form: the path starts at the first '/' after "scheme://authority".
            var scheme = path.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0) return KeyTargetKind.NotKey;
            var slash = path[(scheme + 3)..].IndexOf('/');
            if (slash < 0) return KeyTargetKind.NotKey;
            path = path[(scheme + 3 + slash)..];
        }
        if (!path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)) return KeyTargetKind.NotKey;
        var segment = path[Prefix.Length..];
        if (segment.IsEmpty) return KeyTargetKind.NotKey;
        if (segment.Contains('/'))
        {
            error = "A key is one path segment after /data/: escape '/' in a key as %2F (and '%' as %25).";
            return KeyTargetKind.Invalid;
        }
        return TryDecode(segment, out key, out error) ? KeyTargetKind.Key : KeyTargetKind.Invalid;
    }

    /// <summary>
    /// Percent-decodes one path segment, once, as UTF-8. Every <c>%</c> must start a two-digit hex escape; the bytes must
    /// be well-formed UTF-8 (no overlong forms, no encoded surrogates). Characters outside ASCII stand for their UTF-8.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> segment, [NotNullWhen(true)] out string? key, [NotNullWhen(false)] out string? error)
    {
        key = null;
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(segment.Length));
        try
        {
            var bytes = rented.AsSpan();
            var n = 0;
            for (var i = 0; i < segment.Length; i++)
            {
                var c = segment[i];
                if (c == '%')
                {
                    if (i + 2 >= segment.Length || !char.IsAsciiHexDigit(segment[i + 1]) || !char.IsAsciiHexDigit(segment[i + 2]))
                    {
                        error = $"The key is not percent-encoded: '%' at {i} does not start a %XX escape (send '%' itself as %25).";
                        return false;
                    }
                    bytes[n++] = (byte)(HexValue(segment[i + 1]) << 4 | HexValue(segment[i + 2]));
                    i += 2;
                }
                else if (char.IsAscii(c))
                {
                    bytes[n++] = (byte)c;
                }
                else
                {
                    var run = i;
                    while (run < segment.Length && !char.IsAscii(segment[run])) run++;
                    if (Utf8.FromUtf16(segment[i..run], bytes[n..], out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
                    {
                        error = "The key is not valid Unicode text.";
                        return false;
                    }
                    n += written;
                    i = run - 1;
                }
            }
            if (!Utf8.IsValid(bytes[..n]))
            {
                error = "The key's bytes, percent-decoded, are not valid UTF-8: keys are UTF-8 text.";
                return false;
            }
            key = Encoding.UTF8.GetString(bytes[..n]);
            error = null;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
