using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using CausalKv.AppHost.Orchestration;
using CausalKv.AppHost.Telemetry;

namespace CausalKv.AppHost.Dashboard;

/// <summary>
/// The AppHost's dashboard, after Aspire's: one loopback listener serving the
/// pages (Resources, Console logs, Structured logs, Traces, Metrics, Cluster)
/// behind the browser token, and the OTLP/HTTP intake the services export to,
/// behind the API key. Telemetry is kept in memory, bounded.
/// </summary>
public sealed class DashboardHost : IAsyncDisposable
{
    public const string CookieName = BrowserTokenGate.CookieName;
    private readonly WebApplication _web;
    private readonly BrowserTokenGate _gate;
    private readonly AttachedApp _attached = new();

    public DashboardHost(int port) : this(port, null)
    {
    }

    internal DashboardHost(int port, TelemetryLimits? limits)
    {
        _gate = new BrowserTokenGate(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        OtlpApiKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        Telemetry = new TelemetryStore(limits);
        Url = $"http://127.0.0.1:{port}";

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Loopback only, as Aspire's dashboard by default: the token guards a local tool, not an exposed service.
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.Services.AddSingleton(Telemetry);
        builder.Services.AddSingleton(_attached);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new JsonStringEnumConverter()));
        _web = builder.Build();

        _web.Use(_gate.InvokeAsync);
        _gate.MapLogin(_web);
        _web.MapOtlpReceiver(OtlpApiKey);
        _web.MapDashboardPages();
        _web.MapResourcesApi();
        _web.MapConsoleApi();
        _web.MapStructuredLogsApi();
        _web.MapTracesApi();
        _web.MapMetricsApi();
        _web.MapClusterApi();
    }

    public string Url { get; }

    public string BrowserToken => _gate.Token;

    public string OtlpApiKey { get; }

    public string LoginUrl => $"{Url}{BrowserTokenGate.LoginPath}?t={BrowserToken}";

    /// <summary>Where services send OTLP/HTTP (the exporter appends <c>/v1/traces</c> and the rest): this listener.</summary>
    public string? OtlpEndpoint => Url;

    internal TelemetryStore Telemetry { get; }

    public void Attach(CausalKvApp app) => _attached.App = app;

    public Task StartAsync() => _web.StartAsync();

    public async ValueTask DisposeAsync() => await _web.DisposeAsync();
}
