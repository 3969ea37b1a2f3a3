namespace CausalKv.Router.Reconciliation;

/// <summary>
/// The reconciler's last round, in <c>GET /cluster/state</c> as <c>reconciler</c>: the declaration, what it did or
/// waits for and why, the epoch in force, and how long the cluster took to form after the router started.
/// </summary>
/// <param name="Action">InSync, Install, Resend, Wait or StandDown (<see cref="CausalKv.Sharding.ReconcileAction"/>).</param>
/// <param name="Blockers">What keeps it from the declared view: members that do not answer, nodes that must hand off first.</param>
/// <param name="FormedAfterMs">Milliseconds from the router's start to the first round in sync; null until then.</param>
internal sealed record ReconcilerReport(
    long Generation, string Declaration, string Action, string Reason, string[] Blockers, long Epoch,
    DateTimeOffset At, int Rounds, int Installs, int Resends, long? FormedAfterMs, string? LastError);
