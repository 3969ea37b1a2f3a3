namespace CausalKv.Causality;

/// <summary>
/// How much <c>causal-metadata</c> a node reads from a client: at most <see cref="MaxDependencies"/> dependencies and
/// <see cref="MaxBytes"/> bytes of JSON. Beyond either the request is refused (413) before anything is built from it,
/// so forged metadata costs a node at most a parse and a hash of that much.
/// </summary>
public readonly record struct MetadataLimits(int MaxDependencies, int MaxBytes)
{
    /// <summary>10,000 dependencies and 1 MiB: a session that wrote as many keys while cut off from their other replicas.</summary>
    public static readonly MetadataLimits Default = new(10_000, 1024 * 1024);

    /// <summary>No limit: for metadata a node of this cluster issued just now (the router reading a node's answer).</summary>
    public static readonly MetadataLimits None = new(int.MaxValue, int.MaxValue);
}
