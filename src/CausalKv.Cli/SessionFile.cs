using CausalKv.Client;

namespace CausalKv.Cli;

/// <summary>
/// The session successive commands share, kept as <see cref="CausalKvSession.Save"/> text in a file, so that each
/// command is causally after the ones before it. No file (or <c>--no-session</c>) is a new session.
/// </summary>
internal sealed class SessionFile(string? path)
{
    public const string DefaultName = ".ckv-session";

    public static string DefaultPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), DefaultName);

    public CausalKvSession Load()
    {
        if (path is null || !File.Exists(path)) return new CausalKvSession();
        try
        {
            return CausalKvSession.Restore(File.ReadAllText(path).Trim());
        }
        catch (FormatException)
        {
            // A damaged file only loses the history: the next command starts a new one and overwrites it.
            return new CausalKvSession();
        }
    }

    public void Save(CausalKvSession session)
    {
        if (path is null) return;
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        // Written beside and moved over, so a command killed half way never leaves half a session.
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, session.Save());
        File.Move(temporary, path, overwrite: true);
    }
}
