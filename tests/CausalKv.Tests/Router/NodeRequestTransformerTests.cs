using System.Net;
using CausalKv.Protocol;
using CausalKv.Router.Routing;
using Microsoft.AspNetCore.Http;

namespace CausalKv.Tests.Router;

public sealed class NodeRequestTransformerTests
{
    private static HttpResponseMessage NodeAnswer(HttpStatusCode status, string? notServing)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent("""{"error":"Node 1 has no view yet"}""") };
        response.Headers.TryAddWithoutValidation("X-Trace", "t1");
        if (notServing is not null) response.Headers.TryAddWithoutValidation(ProtocolHeaders.NotServing, notServing);
        return response;
    }

    [Theory]
    [InlineData("no-view")]
    [InlineData("not-in-view")]
    public async Task A_node_that_serves_no_data_is_held_back_so_the_next_replica_can_be_tried(string why)
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable; // as YARP sets it before the transform
        using var answer = NodeAnswer(HttpStatusCode.ServiceUnavailable, why);

        var copy = await NodeRequestTransformer.Instance.TransformResponseAsync(context, answer, CancellationToken.None);

        Assert.False(copy);
        Assert.Empty(context.Response.Headers);
        Assert.True(NodeRequestTransformer.TakeNotServing(context));
        Assert.False(NodeRequestTransformer.TakeNotServing(context)); // the mark is taken once, so a later answer is judged afresh
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, null)] // the causal-wait deadline: the client's answer
    [InlineData(HttpStatusCode.OK, "no-view")]            // only a 503 can mean "not serving"
    [InlineData(HttpStatusCode.NotFound, null)]
    public async Task Every_other_answer_passes_to_the_client_with_its_headers(HttpStatusCode status, string? notServing)
    {
        var context = new DefaultHttpContext();
        context.Response.StatusCode = (int)status;
        using var answer = NodeAnswer(status, notServing);

        var copy = await NodeRequestTransformer.Instance.TransformResponseAsync(context, answer, CancellationToken.None);

        Assert.True(copy);
        Assert.Equal("t1", context.Response.Headers["X-Trace"].ToString());
        Assert.False(NodeRequestTransformer.TakeNotServing(context));
    }

    [Fact]
    public void Not_serving_is_recognised_only_on_a_503_that_carries_the_header()
    {
        using var refused = NodeAnswer(HttpStatusCode.ServiceUnavailable, "no-view");
        using var deadline = NodeAnswer(HttpStatusCode.ServiceUnavailable, null);
        using var ok = NodeAnswer(HttpStatusCode.OK, "no-view");
        Assert.True(NodeRequestTransformer.IsNotServing(refused));
        Assert.False(NodeRequestTransformer.IsNotServing(deadline));
        Assert.False(NodeRequestTransformer.IsNotServing(ok));
    }
}
