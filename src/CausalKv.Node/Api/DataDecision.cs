using CausalKv.Causality;
using CausalKv.Node.Replication;

namespace CausalKv.Node.Api;

/// <summary>
/// What a node does with a data request now (<see cref="DataRequests"/>), apart from how the request reached it:
/// send it on to the shard that owns its key, wait for what the replica still lacks and decide again, or answer.
/// <see cref="Membership"/> is the view the decision was made under, the one the answer speaks for.
/// </summary>
public abstract record DataDecision(Membership Membership)
{
    /// <summary>The key belongs to <paramref name="Shard"/> under <see cref="DataDecision.Membership"/>: a replica of it answers.</summary>
    public sealed record Forward(Membership Membership, string Shard) : DataDecision(Membership);

    /// <summary>
    /// This replica may not answer yet: it lacks what <paramref name="Missing"/> names (null once it may, or once a new
    /// view may have moved the key). The request is decided again when it is satisfied.
    /// </summary>
    /// <param name="Scope">the key waited for, for telemetry</param>
    public sealed record Wait(Membership Membership, string Scope, Func<string?> Missing) : DataDecision(Membership);

    /// <summary>
    /// The answer: its status (200, 201 or 404), the value read (a GET that found one), the causal-metadata the session
    /// carries on, the error a 404 states, and the version it tells of: the one read, or the one a write stored.
    /// </summary>
    public sealed record Answer(Membership Membership, int Status, string? Value, DependencySet Metadata, string? Error, StoredVersion? Version)
        : DataDecision(Membership);
}
