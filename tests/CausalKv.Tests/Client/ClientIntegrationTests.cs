using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using CausalKv.Client;
using CausalKv.Client.Aspire;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace CausalKv.Tests.Client;

/// <summary>
/// The Aspire client integration (<c>AddCausalKvClient</c>): the connection string an AppHost injects, settings from
/// configuration, the client, its health check; and the spans and metrics the client reports.
/// </summary>
public sealed class ClientIntegrationTests
{
    [Theory]
    [InlineData("Endpoints=http://127.0.0.1:7001,http://127.0.0.1:7002", "http://127.0.0.1:7001/ http://127.0.0.1:7002/", null)]
    [InlineData("endpoints=http://127.0.0.1:7001;Routing=ViaRouter", "http://127.0.0.1:7001/", CausalKvRouting.ViaRouter)]
    [InlineData("http://localhost:8080", "http://localhost:8080/", null)]
    public void A_connection_string_names_endpoints_and_routing(string text, string endpoints, CausalKvRouting? routing)
    {
        Assert.True(CausalKvConnectionString.TryParse(text, out var parsed, out var r, out var error), error);
        Assert.Equal(endpoints, string.Join(' ', parsed));
        Assert.Equal(routing, r);
    }

    [Theory]
    [InlineData("Endpoints=", "names no endpoint")]
    [InlineData("Endpoints=ftp://x:1", "'ftp://x:1'")]
    [InlineData("Endpoints=http://x:1;Routing=Sideways", "Routing 'Sideways'")]
    [InlineData("Endpoints=http://x:1;Password=secret", "unknown key 'password'")]
    public void A_bad_connection_string_says_what_is_wrong(string text, string expected)
    {
        Assert.False(CausalKvConnectionString.TryParse(text, out _, out _, out var error));
        Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }

    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    [Fact]
    public async Task AddCausalKvClient_registers_a_client_from_the_injected_connection_with_a_health_check()
    {
        // Port 1 on loopback: nothing listens, so the health check sees a cluster that does not answer.
        var builder = Builder(new()
        {
            ["ConnectionStrings:kv"] = "Endpoints=http://127.0.0.1:1;Routing=ViaRouter",
            ["CausalKv:Client:ConnectTimeout"] = "00:00:00.500",
        });
        builder.AddCausalKvClient("kv");
        using var host = builder.Build();
        var client = host.Services.GetRequiredService<CausalKvClient>();
        Assert.Same(client, host.Services.GetRequiredService<CausalKvClient>());
        Assert.Equal(CausalKvRouting.ViaRouter, client.Routing);

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        var entry = Assert.Single(report.Entries);
        Assert.Equal("CausalKv", entry.Key);
        Assert.Equal(HealthStatus.Unhealthy, entry.Value.Status);
        Assert.Contains("view", entry.Value.Description);
    }

    [Fact]
    public void A_keyed_client_per_cluster_and_settings_from_code_over_configuration()
    {
        var builder = Builder(new()
        {
            ["ConnectionStrings:left"] = "Endpoints=http://127.0.0.1:7001",
            ["ConnectionStrings:right"] = "Endpoints=http://127.0.0.1:7002",
            ["CausalKv:Client:right:Routing"] = "ViaRouter",
        });
        builder.AddKeyedCausalKvClient("left", s => s.DisableHealthChecks = true);
        builder.AddKeyedCausalKvClient("right", s => s.DisableHealthChecks = true);
        using var host = builder.Build();
        var left = host.Services.GetRequiredKeyedService<CausalKvClient>("left");
        var right = host.Services.GetRequiredKeyedService<CausalKvClient>("right");
        Assert.NotSame(left, right);
        Assert.Equal(CausalKvRouting.Direct, left.Routing);
        Assert.Equal(CausalKvRouting.ViaRouter, right.Routing);
        Assert.Null(host.Services.GetService<CausalKvClient>());
    }

    [Fact]
    public void Without_a_connection_the_error_says_where_one_is_expected()
    {
        var builder = Builder([]);
        var e = Assert.Throws<InvalidOperationException>(() => builder.AddCausalKvClient("kv"));
        Assert.Contains("ConnectionStrings:kv", e.Message);
    }

    [Fact]
    public async Task Each_operation_is_a_span_with_key_shard_and_replica_and_causal_waits_are_measured()
    {
        var nodes = new FakeNodes { View = FakeNodes.TwoReplicaShards(3) };
        var prefix = Guid.NewGuid().ToString("N");
        var (waitedKey, missingKey, refusedKey) = ($"{prefix}-waited", $"{prefix}-missing", $"{prefix}-refused");
        nodes.Answer = r => r.Path.EndsWith(missingKey, StringComparison.Ordinal)
            ? (HttpStatusCode.NotFound, "{\"causal-metadata\": {}, \"error\": \"Key does not exist.\"}", false)
            : r.Path.EndsWith(refusedKey, StringComparison.Ordinal)
                ? (HttpStatusCode.RequestEntityTooLarge, "{\"error\": \"Value too large.\"}", false)
                : (HttpStatusCode.OK, "{\"value\": \"v\", \"causal-metadata\": {}}", false);
        nodes.Waited = r => r.Method == HttpMethod.Get && r.Path.EndsWith(waitedKey, StringComparison.Ordinal) ? 12.345 : null;

        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == CausalKvClientTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("causalkv.key") is string k && k.StartsWith(prefix, StringComparison.Ordinal)) spans.Enqueue(a);
            },
        };
        ActivitySource.AddActivityListener(listener);
        var waits = new ConcurrentQueue<double>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == CausalKvClientTelemetry.SourceName && i.Name == CausalKvClientTelemetry.CausalWaitDuration) l.EnableMeasurementEvents(i);
            },
        };
        meters.SetMeasurementEventCallback<double>((_, value, _, _) => waits.Enqueue(value));
        meters.Start();

        using var client = new CausalKvClient(new CausalKvClientOptions { Endpoints = [new Uri("http://127.0.9.100:8080")] }, nodes, disposeHandler: false);
        var session = new CausalKvSession();
        await client.PutAsync(session, waitedKey, "v");
        Assert.Equal("v", await client.GetAsync(session, waitedKey));
        Assert.Null(await client.GetAsync(session, missingKey));
        await Assert.ThrowsAsync<CausalKvRequestRefusedException>(() => client.PutAsync(session, refusedKey, "too large"));

        var ring = nodes.View.CreateRing();
        var byName = spans.ToList();
        Assert.Equal(["causalkv PUT", "causalkv GET", "causalkv GET", "causalkv PUT"], byName.Select(a => a.DisplayName));
        Assert.All(byName, a =>
        {
            var key = (string)a.GetTagItem("causalkv.key")!;
            var shard = ring.ShardFor(key);
            Assert.Equal(shard, a.GetTagItem("causalkv.shard"));
            Assert.Contains($"{a.GetTagItem("server.address")}:{a.GetTagItem("server.port")}", nodes.View.NodesOf(shard).Select(n => n.Address));
            Assert.Equal(ActivityKind.Client, a.Kind);
        });
        Assert.Equal(["ok", "ok", "not_found", "refused"], byName.Select(a => (string)a.GetTagItem("causalkv.outcome")!));
        Assert.Equal(12.345, byName[1].GetTagItem("causalkv.causal_wait_ms"));
        Assert.Null(byName[0].GetTagItem("causalkv.causal_wait_ms"));
        Assert.Equal([ActivityStatusCode.Unset, ActivityStatusCode.Unset, ActivityStatusCode.Unset, ActivityStatusCode.Error], byName.Select(a => a.Status));
        Assert.Contains(0.012345, waits);
    }
}
