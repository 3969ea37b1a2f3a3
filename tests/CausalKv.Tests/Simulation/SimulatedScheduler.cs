namespace CausalKv.Tests.Simulation;

/// <summary>
/// Where one life of a simulated node runs its async code: every continuation the node's code posts (an await that
/// resumed, a loop that yielded) becomes an event of the simulation's one queue at the current simulated time, so
/// the node's own async code runs on the simulation's thread in an order fixed by the seed. When the node crashes
/// the scheduler stops: whatever that life still had to run is dropped, as a killed process drops it.
/// </summary>
internal sealed class SimulatedScheduler(SimulatedNetwork network) : SynchronizationContext
{
    public bool Stopped { get; private set; }

    public void Stop() => Stopped = true;

    public override void Post(SendOrPostCallback d, object? state)
    {
        // A crashed life's leftovers (a finalized timer of it, say) run nowhere.
        if (Stopped) return;
        // Work that left the simulation's thread (the thread pool, a real timer) would make the run depend on timing.
        if (!network.OnLoopThread)
        {
            network.Escaped($"{d.Method.DeclaringType?.FullName}.{d.Method.Name} from{Environment.NewLine}{Environment.StackTrace}");
            return;
        }
        network.After(0, () => Run(() => d(state)));
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("A simulated node never blocks on its own scheduler.");

    public override SynchronizationContext CreateCopy() => this;

    /// <summary>Runs <paramref name="action"/> as this life of the node (nothing once it crashed).</summary>
    public void Run(Action action)
    {
        if (Stopped) return;
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            action();
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    public T Run<T>(Func<T> func)
    {
        if (Stopped) throw new InvalidOperationException("The node crashed.");
        var result = default(T)!;
        Run(() => { result = func(); });
        return result;
    }
}
