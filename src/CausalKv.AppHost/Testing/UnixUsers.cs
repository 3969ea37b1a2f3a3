using System.Runtime.InteropServices;

namespace CausalKv.AppHost.Testing;

/// <summary>What running each node as its own Unix user needs: handing it its data folder.</summary>
internal static partial class UnixUsers
{
    /// <summary>Gives a file or folder to a user and group id.</summary>
    public static void ChangeOwner(string path, int uid)
    {
        if (Chown(path, uid, uid) != 0) throw new IOException($"chown {uid} {path} failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    /// <summary>A folder the node running as <paramref name="uid"/> owns, under a root everyone may pass through.</summary>
    public static void PrepareDataDirectory(string root, string own, int uid)
    {
        var rootDir = Directory.CreateDirectory(root);
        if (OperatingSystem.IsWindows()) return;
        rootDir.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        var dir = Directory.CreateDirectory(own);
        ChangeOwner(dir.FullName, uid);
        foreach (var entry in dir.EnumerateFileSystemInfos("*", SearchOption.AllDirectories)) ChangeOwner(entry.FullName, uid);
    }

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Chown(string path, int owner, int group);
}
