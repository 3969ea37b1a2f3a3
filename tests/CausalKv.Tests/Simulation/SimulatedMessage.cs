namespace CausalKv.Tests.Simulation;

/// <summary>
/// One packet between two simulated nodes: a node-to-node request (its path and the JSON body the node's own
/// transport would send) or its answer. <see cref="Request"/> pairs an answer with its request, so an answer that
/// arrives after its request timed out is ignored, as an HTTP client ignores a response after its timeout.
/// </summary>
internal sealed record SimulatedMessage(int From, int To, long Request, string Path, byte[]? Body)
{
    public bool IsReply { get; init; }

    public override string ToString() => $"{From}->{To} #{Request} {Path}{(IsReply ? " answer" : "")}";
}
