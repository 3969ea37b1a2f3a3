using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CausalKv.AppHost.Orchestration;

/// <summary>
/// Starts child processes so that none outlives the AppHost, even when the
/// AppHost is killed: each child runs under <c>setpriv --pdeathsig KILL</c>,
/// and because Linux delivers that signal when the *thread* that forked the
/// child exits, every child is forked from one dedicated thread that lives as
/// long as this launcher.
/// </summary>
public sealed partial class ProcessLauncher : IDisposable
{
    private readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Done)> _requests = new();
    private readonly Thread _thread;
    private readonly bool _usePdeathsig;

    public ProcessLauncher()
    {
        _usePdeathsig = OperatingSystem.IsLinux() && File.Exists("/usr/bin/setpriv");
        _thread = new Thread(Run) { IsBackground = true, Name = "causalkv-launcher" };
        _thread.Start();
    }

    /// <param name="uid">Runs the process as this Unix user and group id (no supplementary groups); null keeps ours.</param>
    public Task<Process> StartAsync(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment, string workingDirectory,
        int? uid = null)
    {
        if (uid is not null && !_usePdeathsig) throw new PlatformNotSupportedException("Running a process as another user needs /usr/bin/setpriv (Linux).");
        var info = new ProcessStartInfo
        {
            FileName = _usePdeathsig ? "/usr/bin/setpriv" : fileName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (_usePdeathsig)
        {
            if (uid is { } id)
            {
                // setpriv changes the ids first and sets the parent-death signal after, so the child still dies with us.
                var ids = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
                info.ArgumentList.Add("--reuid=" + ids);
                info.ArgumentList.Add("--regid=" + ids);
                info.ArgumentList.Add("--clear-groups");
            }
            info.ArgumentList.Add("--pdeathsig");
            info.ArgumentList.Add("KILL");
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(fileName);
        }
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests.Add((info, done));
        return done.Task;
    }

    private void Run()
    {
        foreach (var (info, done) in _requests.GetConsumingEnumerable())
        {
            try { done.SetResult(Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.")); }
            catch (Exception e) { done.SetException(e); }
        }
    }

    /// <summary>Asks a process to stop (SIGTERM), as Ctrl+C would.</summary>
    public static bool Terminate(int pid) => OperatingSystem.IsWindows() ? false : Kill(pid, 15) == 0;

    /// <summary>Gives a file or folder to a user and group id (the folder a node running as its own user writes to).</summary>
    public static void ChangeOwner(string path, int uid)
    {
        if (Chown(path, uid, uid) != 0) throw new IOException($"chown {uid} {path} failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, int owner, int group);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public void Dispose() => _requests.CompleteAdding();
}
