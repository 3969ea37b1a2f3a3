// Service defaults shared by every CausalKv process. This file mirrors the shape of .NET Aspire's
// ServiceDefaults project template: AddServiceDefaults wires OpenTelemetry (logs, metrics, traces, with
// the OTLP exporter switched on only when OTEL_EXPORTER_OTLP_ENDPOINT is set), default health checks,
// service discovery and a standard resilience handler on every HttpClient; MapDefaultEndpoints exposes
// the health endpoints. It differs from the template in one deliberate way: /health and /alive are
// mapped in every environment, not only in Development, and /health answers with a small JSON body.

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

public static class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";
    private const string PingEndpointPath = "/ping";
    private const string LiveTag = "live";
    // Node-to-node requests sent several times a second by every CausalKv node.
    private const string FrontierPath = "/internal/frontier";
    private const string GossipPath = "/internal/gossip";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                // OpenTelemetry matches '*' as a wildcard; "CausalKv.*" does not match the bare root name.
                .AddMeter("CausalKv", "CausalKv.*"))
            .WithTracing(tracing => tracing
                .AddSource("CausalKv", "CausalKv.*")
                .AddAspNetCoreInstrumentation(options =>
                    options.Filter = context => !IsBackgroundChatter(context.Request.Method, context.Request.Path.Value))
                // Probes, view polls and gossip run several times a second; traced, they would bury the requests that matter.
                // Both sides filter: a filtered request still sends its caller's trace context as sampled, so only the
                // server's own filter keeps its span out.
                .AddHttpClientInstrumentation(options =>
                    options.FilterHttpRequestMessage = request => !IsBackgroundChatter(request.Method.Method, request.RequestUri?.AbsolutePath)));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    // Gossip rounds are traced by the nodes themselves: the gossip.round span, exported only for rounds that moved data,
    // carries what the HTTP spans would (peer, bytes each way), while HTTP spans beneath it would be exported on their
    // own, as orphans, for the rounds that are not.
    private static bool IsBackgroundChatter(string method, string? path) =>
        path is not null && (path.StartsWith(HealthEndpointPath, StringComparison.Ordinal)
            || path.StartsWith(AlivenessEndpointPath, StringComparison.Ordinal)
            || path.StartsWith(PingEndpointPath, StringComparison.Ordinal)
            || path.StartsWith(FrontierPath, StringComparison.Ordinal)
            || path.StartsWith(GossipPath, StringComparison.Ordinal)
            || (method == "GET" && (path == "/view" || path == "/cluster/state" || path.StartsWith("/admin/", StringComparison.Ordinal))));

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);

        return builder;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Unlike the Aspire template (Development only), always map these: the router in front of the store probes them.
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteJsonReport,
        });

        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(LiveTag),
        });

        return app;
    }

    // Writes {"status":"Degraded","checks":{"self":"Healthy","cluster":"Degraded"},"descriptions":{"cluster":"why"}}:
    // a person (or a dashboard) sees why a service is not ready.
    private static async Task WriteJsonReport(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";

        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("status", report.Status.ToString());
        writer.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            writer.WriteString(name, entry.Status.ToString());
        }
        writer.WriteEndObject();
        writer.WriteStartObject("descriptions");
        foreach (var (name, entry) in report.Entries)
        {
            if (!string.IsNullOrEmpty(entry.Description)) writer.WriteString(name, entry.Description);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
