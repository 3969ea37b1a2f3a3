namespace CausalKv.Replication;

/// <summary>
/// Wakes everyone waiting for "something changed": each <see cref="Signal"/>
/// completes the current task and arms a new one. Waiters re-check their
/// condition after every wake-up, so a missed or spurious signal costs nothing.
/// </summary>
public sealed class ChangeSignal
{
    private TaskCompletionSource _current = NewSource();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The task to await; take it before checking the condition to avoid a lost wake-up.</summary>
    public Task Next => Volatile.Read(ref _current).Task;

    private volatile Cause? _lastCause;

    private sealed record Cause(System.Diagnostics.ActivityContext Context);

    /// <summary>
    /// The trace of the request whose change was signalled last (a replication
    /// push, a handoff), so that a read it released can link to it.
    /// </summary>
    public System.Diagnostics.ActivityContext? LastCause => _lastCause?.Context;

    public void Signal()
    {
        if (System.Diagnostics.Activity.Current is { } current) _lastCause = new Cause(current.Context);
        Interlocked.Exchange(ref _current, NewSource()).TrySetResult();
    }
}
