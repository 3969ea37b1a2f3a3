namespace CausalKv.Node.Configuration;

/// <summary>What an acknowledged write survives (<c>CausalKv:Durability</c>).</summary>
public enum Durability
{
    /// <summary>A crash of the process (SIGKILL included), not a power loss: the write reached the operating system.</summary>
    Process,

    /// <summary>A power loss too: the write reached the disk (an fsync, shared by concurrent writes) before its answer.</summary>
    Fsync,
}
