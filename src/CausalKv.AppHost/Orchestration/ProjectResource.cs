using System.Diagnostics;

namespace CausalKv.AppHost.Orchestration;

/// <summary>
/// One process the AppHost runs (a node or the router), described like an
/// Aspire project resource: name, state, health, pid, endpoint, restarts, exit
/// code, environment and bounded console output.
/// </summary>
public sealed class ProjectResource
{
    public ProjectResource(string name, string kind, string projectPath, Uri endpoint, int? nodeId)
    {
        Name = name;
        Kind = kind;
        ProjectPath = projectPath;
        Endpoint = endpoint;
        NodeId = nodeId;
    }

    public string Name { get; }
    public string Kind { get; }
    public string ProjectPath { get; }
    public Uri Endpoint { get; }
    public int? NodeId { get; }
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>The Unix user id the process runs as, when not the AppHost's own (real partitions).</summary>
    public int? Uid { get; internal set; }
    public ConsoleLog Console { get; } = new();

    public ResourceState State { get; internal set; } = ResourceState.NotStarted;
    public ResourceHealth Health { get; internal set; } = ResourceHealth.Unknown;
    public string? HealthDescription { get; internal set; }
    public int? Pid { get; internal set; }
    public int? ExitCode { get; internal set; }
    public int RestartCount { get; internal set; }
    public int Starts { get; internal set; }
    public DateTimeOffset? StartedAt { get; internal set; }
    internal Process? Process { get; set; }
    internal bool StopRequested { get; set; }

    /// <summary>The loopback address:port the resource listens on, as a view names it.</summary>
    public string Address => $"{Endpoint.Host}:{Endpoint.Port}";

    public event Action<ProjectResource>? Changed;

    internal void Notify() => Changed?.Invoke(this);
}
