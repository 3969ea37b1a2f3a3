using FsCheck;
using FsCheck.Fluent;

namespace CausalKv.Tests.Protocol;

/// <summary>
/// Keys as hostile as a client can make them: the characters URLs give a meaning to (<c>% / . ? # +</c>, spaces),
/// percent-escapes written literally (<c>%2F</c>, <c>%25</c>, <c>%2E</c>), dot segments, and any Unicode scalar value.
/// </summary>
public static class KeyGenerators
{
    private static readonly string[] Fragments =
    [
        "%", "/", "..", ".", "?", "#", "+", " ", "%2F", "%2f", "%25", "%2E", "%41", "%%", "%zz", "a", "Z", "0", "~", "&", "=", ";",
        "\\", "@", ":", "*", "'", "\"", "[", "]", "ü", "€", "日本", "𝄞", "\u00a0", "\t", "\u007f", "\u0001",
    ];

    /// <summary>Any Unicode scalar value but NUL, as a string (a surrogate pair above U+FFFF).</summary>
    private static readonly Gen<string> Scalar = Gen.OneOf(
        Gen.Choose(1, 0xD7FF).Select(c => ((char)c).ToString()),
        Gen.Choose(0xE000, 0xFFFF).Select(c => ((char)c).ToString()),
        Gen.Choose(0x10000, 0x10FFFF).Select(char.ConvertFromUtf32));

    /// <summary>A key of 1 to about 40 fragments: mostly URL-meaningful pieces, some arbitrary scalars.</summary>
    public static readonly Gen<string> Key =
        Gen.NonEmptyListOf(Gen.Frequency((3, Gen.Elements(Fragments)), (1, Scalar)))
            .Select(parts => string.Concat(parts.Take(40)));

    /// <summary>The keys whose every spelling a URL parser wants to rewrite.</summary>
    public static readonly string[] DotKeys = [".", "..", "%2E", "%2E%2E", "%2e", "./..", "a/..", "../a"];

    public static Arbitrary<string> Keys() => Arb.From(Key);
}
