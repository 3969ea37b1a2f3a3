namespace CausalKv.Bench;

/// <summary>Where the bench finds the repository, its results folder and the shared reference material.</summary>
internal static class BenchPaths
{
    /// <summary>The repository root: the first folder above the bench's binaries holding CausalKv.sln.</summary>
    public static string Repository { get; } = FindRepository();

    public static string Results => Path.Combine(Repository, "bench", "results");

    public static string Readme => Path.Combine(Repository, "bench", "README.md");

    /// <summary>shared/bench beside the repository (read-only there), or CAUSALKV_SHARED_BENCH.</summary>
    public static string SharedBench =>
        Environment.GetEnvironmentVariable("CAUSALKV_SHARED_BENCH") is { Length: > 0 } dir
            ? dir
            : Path.GetFullPath(Path.Combine(Repository, "..", "shared", "bench"));

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CausalKv.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No CausalKv.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>Copies a folder (without bin/ and obj/) into a new temporary folder and returns the copy's path.</summary>
    public static string CopyToTemp(string source, string prefix)
    {
        if (!Directory.Exists(source)) throw new DirectoryNotFoundException($"{source} is missing (set CAUSALKV_SHARED_BENCH to shared/bench).");
        var target = Path.Combine(Directory.CreateTempSubdirectory(prefix).FullName, Path.GetFileName(source));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            var top = relative.Split(Path.DirectorySeparatorChar)[0];
            if (top is "bin" or "obj") continue;
            var to = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
            File.SetAttributes(to, FileAttributes.Normal); // shared/ is read-only; the copy must not be
        }
        return target;
    }

    /// <summary>Deletes a folder made by <see cref="CopyToTemp"/> (its temporary parent included).</summary>
    public static void DeleteTemp(string copy)
    {
        try { Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
