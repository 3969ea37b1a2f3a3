namespace CausalKv.Protocol;

/// <summary>
/// How large a data request's body may be, at a node and at the router alike. The limit follows the largest legal JSON
/// of a value of the maximum size: a value is limited in decoded UTF-8 bytes, and JSON may spell each of them as a
/// <c>\u00XX</c> escape, 6 bytes of JSON per byte of value (a 2-byte character is 6 bytes as one escape, 3 per byte; a
/// 3-byte one 2 per byte; a 4-byte one is a surrogate pair, 12 bytes, 3 per byte). The metadata and the JSON around
/// the value come on top, in a fixed allowance.
/// </summary>
public static class BodyLimits
{
    /// <summary>The most JSON bytes any one byte of a value can take: <c>\u0041</c> for <c>A</c>.</summary>
    public const int JsonBytesPerValueByte = 6;

    /// <summary>The largest body that can carry a value of <paramref name="maxValueBytes"/>, plus <paramref name="allowance"/> for the rest.</summary>
    public static long MaxBodyBytes(int maxValueBytes, int allowance) => (long)maxValueBytes * JsonBytesPerValueByte + allowance;
}
