using System.Diagnostics;
using CausalKv.Router.Routing;

namespace CausalKv.Tests.Router;

/// <summary>The router sends its trace context to the nodes only for a span someone records.</summary>
public sealed class TracedOnlyPropagatorTests
{
    private static Dictionary<string, string> Injected(Activity activity)
    {
        var headers = new Dictionary<string, string>();
        new TracedOnlyPropagator(DistributedContextPropagator.CreateW3CPropagator())
            .Inject(activity, headers, (carrier, name, value) => ((Dictionary<string, string>)carrier!)[name] = value!);
        return headers;
    }

    [Fact]
    public void An_unrecorded_span_sends_nothing_a_recorded_one_its_traceparent()
    {
        using var unrecorded = new Activity("forward").SetIdFormat(ActivityIdFormat.W3C).Start();
        Assert.False(unrecorded.Recorded);
        Assert.Empty(Injected(unrecorded));

        using var recorded = new Activity("forward").SetIdFormat(ActivityIdFormat.W3C).Start();
        recorded.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        var headers = Injected(recorded);
        Assert.Equal($"00-{recorded.TraceId}-{recorded.SpanId}-01", headers["traceparent"]);
    }
}
