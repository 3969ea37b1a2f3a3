namespace CausalKv.Tests.Simulation;

/// <summary>
/// One packet between two simulated nodes. <see cref="Body"/> is the product's own wire model (a gossip digest,
/// a replication batch or its acknowledgement, a handoff or its acknowledgement); <see cref="Request"/> pairs an
/// answer with the request it answers, so an answer that arrives after its request timed out is ignored, as an
/// HTTP client ignores a response after its timeout.
/// </summary>
internal sealed record SimulatedMessage(int From, int To, long Request, object Body)
{
    public bool IsReply { get; init; }

    public override string ToString() => $"{From}->{To} #{Request} {Body.GetType().Name}";
}
