namespace CausalKv.Router.Routing;

/// <summary>
/// How one attempt at one replica ended: the replica took the request (whatever it answered), or it was given up on,
/// and why. A replica is given up on only when it cannot have applied the request (or the request is a read, safe to
/// repeat), so the shard's next replica may be sent it.
/// </summary>
internal readonly record struct ReplicaAttempt(string? GaveUpBecause)
{
    public static readonly ReplicaAttempt Taken = new((string?)null);

    /// <summary>The node answered that it serves no data at all: it applied nothing.</summary>
    public static readonly ReplicaAttempt NotServing = new("it serves no data (no view, or not in the view)");

    /// <summary>A read in flight to a replica that stopped answering health probes (<see cref="Replica.CutInFlight"/>).</summary>
    public static readonly ReplicaAttempt CutOffDuringRead = new("cut off during a read: it answers no health probe");

    public static ReplicaAttempt GiveUp(string reason) => new(reason);

    public bool WasTaken => GaveUpBecause is null;
}
