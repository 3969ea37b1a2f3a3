namespace CausalKv.Sharding;

/// <summary>
/// What a reconciler saw of one node in its last round: the address it asked (null when a member's name resolved to
/// none), whether it answered, the node id it answered as, the epoch of the view it holds (0 when none), and the
/// departed nodes it still waits for.
/// </summary>
public sealed record ProbedNode(int Id, string? Address, bool Answered, int? AnsweredAs, long Epoch, string? Failure = null)
{
    /// <summary>It answered, as the node it was asked for: a port taken over by another node does not count.</summary>
    public bool AnsweredAsItself => Answered && AnsweredAs == Id;

    /// <summary>Nodes its views left out that its fence still waits for (<c>GET /view</c>'s <c>departed</c>): they must still get a view without them.</summary>
    public IReadOnlyList<DepartedNode> Departed { get; init; } = [];

    public static ProbedNode Unresolved(int id, string why) => new(id, null, false, null, 0, why);

    public static ProbedNode Silent(int id, string address, string why) => new(id, address, false, null, 0, why);

    public static ProbedNode Holding(int id, string address, long epoch, int? answeredAs = null) => new(id, address, true, answeredAs ?? id, epoch);
}
