using System.Collections.Concurrent;
using System.Diagnostics;
using OpenTelemetry;

namespace CausalKv.Tests.Telemetry;

/// <summary>Keeps every span an OpenTelemetry export processor hands over: what an OTLP exporter would have sent.</summary>
internal sealed class CollectingExporter : BaseExporter<Activity>
{
    private readonly ConcurrentQueue<Activity> _exported = new();

    /// <summary>The exported spans of one trace (tests run in parallel, so they tell their own traces apart).</summary>
    public IReadOnlyList<Activity> OfTrace(ActivityTraceId trace) => _exported.Where(a => a.TraceId == trace).ToList();

    public override ExportResult Export(in Batch<Activity> batch)
    {
        foreach (var activity in batch) _exported.Enqueue(activity);
        return ExportResult.Success;
    }
}
