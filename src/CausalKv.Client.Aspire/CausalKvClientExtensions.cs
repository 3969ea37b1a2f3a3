using CausalKv.Client;
using CausalKv.Client.Aspire;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Registers a <see cref="CausalKvClient"/> for a CausalKv cluster an AppHost references (<c>WithReference(kv)</c>):
/// the connection comes from <c>ConnectionStrings:{name}</c>, settings from <c>CausalKv:Client</c>; with a health
/// check and the client's traces and metrics in OpenTelemetry.
/// </summary>
public static class CausalKvClientExtensions
{
    /// <summary>The configuration section the settings bind from (<c>CausalKv:Client:{name}</c> for one connection).</summary>
    public const string ConfigurationSection = "CausalKv:Client";

    /// <summary>Registers the <see cref="CausalKvClient"/> of connection <paramref name="connectionName"/> as a singleton.</summary>
    public static void AddCausalKvClient(this IHostApplicationBuilder builder, string connectionName, Action<CausalKvClientSettings>? configureSettings = null) =>
        Add(builder, connectionName, configureSettings, serviceKey: null);

    /// <summary>Registers the <see cref="CausalKvClient"/> of connection <paramref name="name"/> as a keyed singleton (key: the name).</summary>
    public static void AddKeyedCausalKvClient(this IHostApplicationBuilder builder, string name, Action<CausalKvClientSettings>? configureSettings = null) =>
        Add(builder, name, configureSettings, serviceKey: name);

    private static void Add(IHostApplicationBuilder builder, string name, Action<CausalKvClientSettings>? configure, string? serviceKey)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var settings = new CausalKvClientSettings();
        var section = builder.Configuration.GetSection(ConfigurationSection);
        section.Bind(settings);
        section.GetSection(name).Bind(settings);
        if (builder.Configuration.GetConnectionString(name) is { Length: > 0 } connectionString) settings.ConnectionString = connectionString;
        configure?.Invoke(settings);
        var options = settings.ToOptions(name);

        if (serviceKey is null) builder.Services.AddSingleton(_ => new CausalKvClient(options));
        else builder.Services.AddKeyedSingleton(serviceKey, (_, _) => new CausalKvClient(options));

        if (!settings.DisableHealthChecks)
        {
            var check = serviceKey is null ? "CausalKv" : $"CausalKv_{serviceKey}";
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(check,
                sp => new CausalKvHealthCheck(serviceKey is null ? sp.GetRequiredService<CausalKvClient>() : sp.GetRequiredKeyedService<CausalKvClient>(serviceKey),
                    settings.HealthCheckTimeout),
                failureStatus: null, tags: ["causalkv"]));
        }
        if (!settings.DisableTracing) builder.Services.AddOpenTelemetry().WithTracing(t => t.AddSource(CausalKvClientTelemetry.SourceName));
        if (!settings.DisableMetrics) builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(CausalKvClientTelemetry.SourceName));
    }
}
