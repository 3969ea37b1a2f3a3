namespace CausalKv.AppHost.Telemetry;

/// <summary>
/// The process a batch of telemetry came from, identified as Aspire's dashboard
/// identifies it: <c>service.name</c> plus <c>service.instance.id</c> (the AppHost
/// gives every resource its own instance id, kept across restarts).
/// </summary>
internal sealed record TelemetryResource(string ServiceName, string InstanceId, IReadOnlyList<TelemetryAttribute> Attributes)
{
    public const string UnknownService = "unknown_service";

    /// <summary>The key telemetry is grouped by.</summary>
    public string Key => InstanceId.Length == 0 ? ServiceName : $"{ServiceName}/{InstanceId}";
}
