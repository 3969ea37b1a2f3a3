// DurabilitySync: group commit. Commits are numbered in the order they reach the engine's log; an fsync started after
// commit n was written covers n and everything before it. Whoever waits for a commit not yet synced joins the next
// fsync; one fsync runs at a time, and each one covers every commit written before it started, so a burst of concurrent
// writes shares one fsync instead of queueing one each.
using CausalKv.Node.Configuration;

namespace CausalKv.Node.Storage;

internal sealed class DurabilitySync(Durability durability, Action fsync) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly List<(long Commit, TaskCompletionSource Done)> _waiting = [];
    private long _committed;
    private long _synced;
    private bool _running;
    private bool _disposed;

    /// <summary>Fsyncs run so far (each shared by every commit it covered).</summary>
    public long Syncs { get; private set; }

    public void Committed(long commit) => Volatile.Write(ref _committed, commit);

    public ValueTask WhenDurableAsync(long commit, CancellationToken ct)
    {
        if (durability == Durability.Process) return ValueTask.CompletedTask;
        TaskCompletionSource done;
        lock (_gate)
        {
            if (commit <= _synced) return ValueTask.CompletedTask;
            ObjectDisposedException.ThrowIf(_disposed, this);
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((commit, done));
            if (!_running)
            {
                _running = true;
                _ = Task.Run(SyncLoop, CancellationToken.None);
            }
        }
        return new ValueTask(done.Task.WaitAsync(ct));
    }

    private void SyncLoop()
    {
        while (true)
        {
            long target;
            lock (_gate)
            {
                if (_waiting.Count == 0 || _disposed)
                {
                    _running = false;
                    foreach (var (_, d) in _waiting) d.TrySetException(new ObjectDisposedException(nameof(DurabilitySync)));
                    _waiting.Clear();
                    return;
                }
                target = Volatile.Read(ref _committed);
            }
            Exception? failure = null;
            try
            {
                fsync();
            }
            catch (Exception e)
            {
                failure = e;
            }
            lock (_gate)
            {
                if (failure is null) _synced = Math.Max(_synced, target);
                Syncs++;
                for (var i = _waiting.Count - 1; i >= 0; i--)
                {
                    var (commit, done) = _waiting[i];
                    if (failure is not null) done.TrySetException(failure);
                    else if (commit <= target) done.TrySetResult();
                    else continue;
                    _waiting.RemoveAt(i);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate) _disposed = true;
    }
}
