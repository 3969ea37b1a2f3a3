namespace CausalKv.AppHost.Testing;

/// <summary>Where CausalKv.Node's build output lies, built with this AppHost in the same configuration.</summary>
internal static class NodeBuildOutput
{
    public static string AssemblyPath =>
        Path.Combine(Path.GetDirectoryName(new Projects.CausalKv_Node().ProjectPath)!, "bin", Configuration, "net10.0", "CausalKv.Node.dll");

    private const string Configuration =
#if DEBUG
        "Debug";
#else
        "Release";
#endif
}
