using System.Diagnostics;

namespace CausalKv.Router.Routing;

/// <summary>
/// Sends the router's trace context to the nodes only when the router's span is recorded (someone traces it). ASP.NET
/// Core creates an activity for every request even with telemetry off (for log correlation); propagated, its
/// unrecorded context made every node parse it, take it as the parent of an activity of its own and carry its baggage,
/// which cost the nodes CPU on every forwarded request for a trace nobody keeps. Unrecorded, the request goes on with
/// what the client sent (YARP copies the client's headers), exactly as if the client had called the node itself.
/// </summary>
internal sealed class TracedOnlyPropagator(DistributedContextPropagator inner) : DistributedContextPropagator
{
    public override IReadOnlyCollection<string> Fields => inner.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (activity is { Recorded: true }) inner.Inject(activity, carrier, setter);
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        inner.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        inner.ExtractBaggage(carrier, getter);
}
