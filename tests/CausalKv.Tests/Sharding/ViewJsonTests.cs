using System.Text;
using CausalKv.Sharding;

namespace CausalKv.Tests.Sharding;

public sealed class ViewJsonTests
{
    private static (bool Ok, string? Error) Parse(string body)
    {
        var ok = ViewJson.TryParseRequest(Encoding.UTF8.GetBytes(body), out _, out _, out var error);
        return (ok, error);
    }

    [Theory]
    [InlineData("", "needs a \"view\" object")]
    [InlineData("   ", "needs a \"view\" object")]
    [InlineData("{}", "needs a \"view\" object")]
    [InlineData("""{"view": []}""", "needs a \"view\" object")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("""{"view": {}}""", "at least one shard")]
    [InlineData("""{"view": {"s0": []}}""", "shard 's0' has no nodes")]
    [InlineData("""{"view": {"s0": {"address": "a:1", "id": 0}}}""", "must be a list of nodes")]
    [InlineData("""{"view": {"s0": [{"address": "a:1"}]}}""", "non-negative integer \"id\"")]
    [InlineData("""{"view": {"s0": [{"address": "a:1", "id": -1}]}}""", "non-negative integer \"id\"")]
    [InlineData("""{"view": {"s0": [{"address": 5, "id": 0}]}}""", "string \"address\"")]
    [InlineData("""{"view": {"s0": [{"address": "a:1", "id": "0"}]}}""", "non-negative integer \"id\"")]
    [InlineData("""{"view": {"s0": [{"address": "a:1", "id": 0}], "s1": [{"address": "b:1", "id": 0}]}}""", "duplicate node id 0")]
    [InlineData("""{"view": {"s0": [{"address": "a:1", "id": 0}], "s1": [{"address": "A:1", "id": 1}]}}""", "duplicate address")]
    [InlineData("""{"view": {"s0": [{"address": "nohost", "id": 0}]}}""", "must be host:port")]
    [InlineData("""{"view": {"s0": [{"address": "h:70000", "id": 0}]}}""", "invalid port")]
    [InlineData("""{"view": {"s0": [{"address": "h:1", "id": 0}], "s0": [{"address": "h:2", "id": 1}]}}""", "appears twice")]
    [InlineData("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": 0}""", "positive integer")]
    [InlineData("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": "3"}""", "positive integer")]
    [InlineData("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": 9223372036854775807}""", "at most 9007199254740992")]
    [InlineData("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": 9007199254740993}""", "at most 9007199254740992")]
    [InlineData("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": 1e300}""", "positive integer")]
    [InlineData("""{"view": {"s0": [{"address": "evil/x:80", "id": 0}]}}""", "invalid host")]
    [InlineData("""{"view": {"s0": [{"address": "h?x=1:80", "id": 0}]}}""", "invalid host")]
    [InlineData("""{"view": {"s0": [{"address": "user@h:80", "id": 0}]}}""", "invalid host")]
    [InlineData("""{"view": {"s0": [{"address": "127.0.0.1:80", "id": 0}], "s1": [{"address": "127.0.0.01:80", "id": 1}]}}""", "IPv4")]
    [InlineData("""{"view": {"s0": [{"address": "127.0.0.1:80", "id": 0}], "s1": [{"address": "localhost:80", "id": 1}]}}""", "are one endpoint")]
    [InlineData("""{"view": {"s0": [{"address": "node-a:80", "id": 0}, {"address": "NODE-A:80", "id": 1}]}}""", "are one endpoint")]
    [InlineData("""{"view": {"s0": [{"address": "h:80", "id": 0}, {"address": "h:80", "id": 1}]}}""", "duplicate address 'h:80'")]
    public void Malformed_views_are_refused_with_a_message_saying_what_is_wrong(string body, string expected)
    {
        var (ok, error) = Parse(body);
        Assert.False(ok);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void The_highest_epoch_a_view_may_have_is_2_to_the_53()
    {
        Assert.True(ViewJson.TryParseRequest(Encoding.UTF8.GetBytes("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": 9007199254740992}"""),
            out var view, out var epoch, out var error), error);
        Assert.Equal(ShardView.MaxEpoch, epoch);
        Assert.Equal(ShardView.MaxEpoch, view!.WithEpoch(epoch!.Value).Epoch);
    }

    [Fact]
    public void A_valid_view_is_parsed_with_its_optional_epoch()
    {
        var body = """{"view": {"s1": [{"address": "127.0.0.22:8081", "id": 2}, {"address": "127.0.0.23:8081", "id": 3}], "s0": [{"address": "127.0.0.20:8081", "id": 0}]}, "epoch": 7}"""u8;
        Assert.True(ViewJson.TryParseRequest(body, out var layout, out var epoch, out var error), error);
        Assert.Equal(7, epoch);
        Assert.Equal(["s0", "s1"], layout!.ShardNames);
        Assert.Equal([2, 3], layout.NodesOf("s1").Select(n => n.Id));

        Assert.True(ViewJson.TryParseRequest("""{"view": {"s0": [{"address": "h:1", "id": 0}]}, "epoch": null}"""u8, out _, out epoch, out _));
        Assert.Null(epoch);
    }

    [Fact]
    public void A_node_s_view_answer_is_read_back_as_written()
    {
        Assert.True(ViewJson.TryParseRequest("""{"view": {"s0": [{"address": "h:1", "id": 0}, {"address": "h:2", "id": 1}], "s1": [{"address": "h:3", "id": 5}]}}"""u8,
            out var layout, out _, out _));
        var view = layout!.WithEpoch(4);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("epoch", 4);
            writer.WritePropertyName("view");
            ViewJson.Write(writer, view);
            writer.WriteNumber("node", 0);
            writer.WriteBoolean("handoffPending", false);
            writer.WriteEndObject();
        }
        Assert.True(ViewJson.TryReadNodeAnswer(buffer.WrittenSpan, out var epoch, out var read));
        Assert.Equal(4, epoch);
        Assert.True(read!.SameLayoutAs(view));
        Assert.Equal(4, read.Epoch);

        Assert.True(ViewJson.TryReadNodeAnswer("""{"epoch":0,"view":null,"node":3,"shard":null,"handoffPending":false}"""u8, out epoch, out read));
        Assert.Equal(0, epoch);
        Assert.Null(read);
        Assert.False(ViewJson.TryReadNodeAnswer("<html>"u8, out _, out _));
        Assert.False(ViewJson.TryReadNodeAnswer("""{"epoch":"1"}"""u8, out _, out _));
    }
}
