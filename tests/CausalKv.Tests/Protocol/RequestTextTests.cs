using System.Text;
using CausalKv.Node.Api;

namespace CausalKv.Tests.Protocol;

/// <summary>What a node checks of a request before acting on it: that its JSON is text, and whose hop count to believe.</summary>
public sealed class RequestTextTests
{
    [Theory]
    [InlineData("""{"value": "a\ud800b"}""", "the string in \"value\"")]
    [InlineData("""{"value": "\udc00"}""", "the string in \"value\"")]
    [InlineData("""{"value": "\udc00\ud800"}""", "the string in \"value\"")]
    [InlineData("""{"value": "v", "causal-metadata": {"d": {"\ud800": {}}}}""", "a field name")]
    [InlineData("""{"\udfff": 1}""", "a field name")]
    public void A_lone_surrogate_escape_anywhere_is_not_text(string json, string where)
    {
        var error = RequestBody.TextError(Encoding.UTF8.GetBytes(json));
        Assert.NotNull(error);
        Assert.Contains(where, error);
        Assert.False(RequestBody.TryParseObject(Encoding.UTF8.GetBytes(json), out var document, out var parseError));
        Assert.Null(document);
        Assert.Contains("not text", parseError);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })]
    [InlineData(new byte[] { 0xC0, 0xAF })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { 0xE2, 0x82 })]
    public void Invalid_utf8_bytes_in_a_string_are_not_text(byte[] bad)
    {
        var json = Encoding.UTF8.GetBytes("{\"value\": \"a").Concat(bad).Concat(Encoding.UTF8.GetBytes("b\"}")).ToArray();
        Assert.False(RequestBody.TryParseObject(json, out var document, out var error));
        Assert.Null(document);
        Assert.Contains("UTF-8", error);
    }

    [Theory]
    [InlineData("""{"value": "\ud83d\ude00 plain \u00e9 \u0041", "causal-metadata": {"d": {"k\u00fc": {"t": [1, 0]}}}}""")]
    [InlineData("""{"value": "😀 é"}""")]
    [InlineData("""{}""")]
    [InlineData("")]
    public void Text_is_text(string json)
    {
        Assert.Null(RequestBody.TextError(Encoding.UTF8.GetBytes(json)));
        Assert.True(RequestBody.TryParseObject(Encoding.UTF8.GetBytes(json), out var document, out var error), error);
        document?.Dispose();
    }

    [Fact]
    public void A_metadata_header_with_a_lone_surrogate_escape_is_not_text() =>
        Assert.Contains("X-Causal-Metadata", RequestBody.HeaderTextError("""{"d": {"\ud800": {}}}"""));

    [Theory]
    [InlineData(null, true, 0)]
    [InlineData("1", true, 1)]
    [InlineData("3", true, 3)]
    [InlineData("99", true, ShardForwarder.MaxHops)]
    [InlineData("-2147483648", true, 0)]
    [InlineData("-5", true, 0)]
    [InlineData("x", true, 0)]
    [InlineData("2", false, 0)]
    [InlineData("-2147483648", false, 0)]
    [InlineData("99", false, 0)]
    public void Hops_count_only_from_a_node_and_only_within_bounds(string? header, bool fromNode, int hops) =>
        Assert.Equal(hops, ShardForwarder.HopsOf(header, fromNode));

    /// <summary>Only a node's epoch makes a node wait for a newer view: a client's could hold any request for the whole deadline.</summary>
    [Theory]
    [InlineData("7", true, 7L)]
    [InlineData("0", true, 0L)]
    [InlineData(null, true, null)]
    [InlineData("-3", true, null)]
    [InlineData(" 7", true, null)]
    [InlineData("x", true, null)]
    [InlineData("99999999999999999999", true, null)]
    [InlineData("7", false, null)]
    public void A_forwarded_epoch_counts_only_from_a_node(string? header, bool fromNode, long? epoch) =>
        Assert.Equal(epoch, ShardForwarder.EpochOf(header, fromNode));
}
