namespace CausalKv.AppHost.Orchestration;

/// <summary>A resource's lifecycle state, named as Aspire names them.</summary>
public enum ResourceState
{
    NotStarted,
    Starting,
    Running,
    Stopping,
    Exited,
    FailedToStart,
}

/// <summary>Health, computed only while Running (as in Aspire): the worst report wins.</summary>
public enum ResourceHealth
{
    Unknown,
    Healthy,
    Degraded,
    Unhealthy,
}
