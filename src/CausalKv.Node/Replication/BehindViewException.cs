namespace CausalKv.Node.Replication;

/// <summary>
/// A replication batch refused because its sender made it under a newer view than the one this node follows. Under
/// that view the sender may have handed off keys this node still answers for, and a batch names the writes to such a
/// key without its version: taken, they would make this node's frontier claim writes it does not hold. The sender
/// sees a failed push (a 503) and tries again after its pause, or once it hears from this node; by then this node
/// may follow that view, and takes the batch.
/// </summary>
public sealed class BehindViewException(int sender, long sentUnder, long follows)
    : Exception($"Node {sender} sent a replication batch under view epoch {sentUnder}; this node follows epoch {follows} and takes it once it follows that view.")
{
    public long SentUnder { get; } = sentUnder;

    public long Follows { get; } = follows;
}
