using CausalKv.Causality;

namespace CausalKv.Tests.Simulation;

/// <summary>
/// One operation of a client session as the client saw it. A write (a null <see cref="Value"/> deletes) is
/// <see cref="Executed"/> when a replica stored it and <see cref="Completed"/> when the client got the
/// acknowledgement; a read is recorded only when the client got its answer (<see cref="Value"/> null: absent).
/// <see cref="Tag"/>, <see cref="Origin"/> and <see cref="Seq"/> are what the replica gave the write: the tag is
/// the tie-break among concurrent writes, the dot (origin, seq) names the write in version clocks. A read's
/// <see cref="Tag"/> is that of the version it read.
/// </summary>
internal sealed record HistoryOperation(
    int Index, int Session, bool IsWrite, string Key, string? Value, bool Executed, bool Completed,
    WriteTag Tag, long Origin, long Seq, int Node, long At, int Issued = -1)
{
    /// <summary>
    /// Where the operation stands in its session: when the client sent it. A write may be stored after the session went
    /// on (forwarded, then sent again or delivered late), yet it depends only on what the session saw before it sent it.
    /// </summary>
    public int SessionOrder => Issued >= 0 ? Issued : Index;

    public bool IsRead => !IsWrite;

    public override string ToString() =>
        $"#{Index} session {Session} {(IsWrite ? Value is null ? "DELETE" : "PUT" : "GET")} {Key}" +
        (IsWrite ? Value is null ? "" : $"={Value}" : $" -> {Value ?? "absent"}") +
        $" at node {Node}, {At} ms" + (IsWrite ? $" tag {Tag.Timestamp}/{Tag.Node}" + (Completed ? "" : " (not acknowledged)") : "");
}
