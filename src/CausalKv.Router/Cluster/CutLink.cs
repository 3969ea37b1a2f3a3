namespace CausalKv.Router.Cluster;

/// <summary>
/// A link between two nodes that does not carry traffic, once per pair (<paramref name="A"/> &lt; <paramref name="B"/>):
/// which ends drop the other's traffic (fault injection) and which report the other unreachable.
/// </summary>
internal sealed record CutLink(int A, int B, int[] BlockedBy, int[] UnreachableFrom);
