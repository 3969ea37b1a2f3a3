using System.Text;
using CausalKv.Protocol;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace CausalKv.Tests.Protocol;

/// <summary>The key's place in a request target: escaped once, decoded once, byte for byte, whatever the key.</summary>
public sealed class KeyPathTests
{
    [Property(Arbitrary = [typeof(KeyGenerators)], MaxTest = 500)]
    public bool Every_key_survives_escape_a_uri_and_decode_unchanged(string key)
    {
        var uri = KeyPath.UriOf("http://127.0.0.1:8080", key, "?x=%2E");
        return uri.PathAndQuery == KeyPath.PathOf(key) + "?x=%2E"
               && KeyPath.Parse(uri.PathAndQuery, out var decoded, out _) == KeyTargetKind.Key && decoded == key
               && KeyPath.Parse(uri.AbsoluteUri, out var fromAbsolute, out _) == KeyTargetKind.Key && fromAbsolute == key;
    }

    [Property(MaxTest = 500)]
    public bool Any_valid_unicode_string_round_trips(NonEmptyString text)
    {
        var key = text.Get;
        if (!IsValidUtf16(key)) return true;
        return KeyPath.Parse(KeyPath.PathOf(key), out var decoded, out _) == KeyTargetKind.Key && decoded == key;
    }

    [Property(Arbitrary = [typeof(KeyGenerators)], MaxTest = 300)]
    public bool Distinct_keys_have_distinct_targets(string a, string b) =>
        a == b || KeyPath.PathOf(a) != KeyPath.PathOf(b);

    [Theory]
    [InlineData("/data/a%2Fb", "a/b")]
    [InlineData("/data/a%252Fb", "a%2Fb")]
    [InlineData("/data/50%25off", "50%off")]
    [InlineData("/data/k%2545", "k%45")]
    [InlineData("/data/%2E", ".")]
    [InlineData("/data/%2E%2E", "..")]
    [InlineData("/data/..", "..")]
    [InlineData("/data/%252E", "%2E")]
    [InlineData("/data/a+b%20c", "a+b c")]
    [InlineData("/data/%E2%82%AC", "€")]
    [InlineData("/data/%F0%9D%84%9E", "𝄞")]
    [InlineData("/data/x?y=1", "x")]
    [InlineData("/DATA/x", "x")]
    [InlineData("/data/a#b", "a#b")]
    [InlineData("http://h:1/data/%2F", "/")]
    public void A_target_names_exactly_its_key(string target, string key)
    {
        Assert.Equal(KeyTargetKind.Key, KeyPath.Parse(target, out var decoded, out var error));
        Assert.Null(error);
        Assert.Equal(key, decoded);
    }

    [Theory]
    [InlineData("/data")]
    [InlineData("/data/")]
    [InlineData("/data?x=1")]
    [InlineData("/datax/1")]
    [InlineData("/view")]
    [InlineData("*")]
    [InlineData("")]
    [InlineData("http://h:1")]
    public void Other_targets_are_not_keys(string target) =>
        Assert.Equal(KeyTargetKind.NotKey, KeyPath.Parse(target, out _, out _));

    [Theory]
    [InlineData("/data/%", "%XX")]
    [InlineData("/data/a%2", "%XX")]
    [InlineData("/data/%zz", "%XX")]
    [InlineData("/data/%FF", "UTF-8")]
    [InlineData("/data/%C0%AF", "UTF-8")]
    [InlineData("/data/%ED%A0%80", "UTF-8")]
    [InlineData("/data/%F4%90%80%80", "UTF-8")]
    [InlineData("/data/%E2%82", "UTF-8")]
    [InlineData("/data/a/b", "%2F")]
    [InlineData("/data/a/", "%2F")]
    [InlineData("/data/../view", "%2F")]
    public void A_key_that_is_not_one_segment_of_percent_encoded_utf8_is_refused_with_a_reason(string target, string said)
    {
        Assert.Equal(KeyTargetKind.Invalid, KeyPath.Parse(target, out var key, out var error));
        Assert.Null(key);
        Assert.Contains(said, error);
    }

    [Theory]
    [InlineData(".", "%2E")]
    [InlineData("..", "%2E%2E")]
    [InlineData("...", "%2E%2E%2E")]
    [InlineData("a.b", "a.b")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("%", "%25")]
    public void Escaping_leaves_nothing_a_url_parser_rewrites(string key, string segment) =>
        Assert.Equal("/data/" + segment, KeyPath.PathOf(key));

    [Fact]
    public void A_default_uri_would_lose_the_key_which_is_why_keys_are_sent_uncanonicalized()
    {
        Assert.Equal("/", new Uri("http://h:1" + KeyPath.PathOf("..")).PathAndQuery);
        Assert.Equal("/data/%2E%2E", KeyPath.UriOf("http://h:1/", "..").PathAndQuery);
    }

    private static bool IsValidUtf16(string s)
    {
        try
        {
            _ = new UTF8Encoding(false, true).GetByteCount(s);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }
}
