namespace CausalKv.Tests.Distributed;

/// <summary>Polls for a state a distributed test needs, with a deadline.</summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (await condition()) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not true within {within.TotalSeconds:0.#} s: {what}");
            await Task.Delay(50);
        }
    }

    /// <summary>True when <paramref name="task"/> has not finished after <paramref name="grace"/>: it is waiting.</summary>
    public static async Task<bool> IsStillPendingAfter(Task task, TimeSpan grace) =>
        await Task.WhenAny(task, Task.Delay(grace)) != task;
}
