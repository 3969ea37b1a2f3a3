using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.AppHost.Telemetry;
using CausalKv.AppHost.Telemetry.Otlp;
using Google.Protobuf;
using static CausalKv.Tests.Dashboard.OtlpRequests;

namespace CausalKv.Tests.Dashboard;

/// <summary>The OTLP/HTTP intake: what the services' exporter posts is stored, bounded, and shown by the data APIs.</summary>
public sealed class OtlpReceiverTests
{
    private static HttpRequestMessage Post(string path, IMessage message, string? apiKey, string contentType = "application/x-protobuf")
    {
        var content = new ByteArrayContent(message.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (apiKey is not null) request.Headers.Add(OtlpReceiver.ApiKeyHeader, apiKey);
        return request;
    }

    private static async Task<JsonNode> JsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    [Fact]
    public async Task A_protobuf_trace_export_is_stored_and_served_by_the_traces_api()
    {
        await using var dashboard = await TestDashboard.StartAsync();
        var traceId = Id(16, 1);
        var request = Traces(Resource("node1", "abcdefgh"),
            NewSpan(traceId, Id(8, 2), "GET /data/{key}", 0, 40),
            NewSpan(traceId, Id(8, 3), "causal.wait", 5, 30,
                Attribute("causalkv.scope", "x"), Attribute("causalkv.missing", "x from node 0 (write 1)"),
                Attribute("causalkv.waited_ms", 30.5), Attribute("causalkv.outcome", "satisfied")));
        request.ResourceSpans[0].ScopeSpans[0].Spans[1].ParentSpanId = ByteString.CopyFrom(Id(8, 2));

        using var response = await dashboard.Anonymous.SendAsync(Post("/v1/traces", request, dashboard.Host.OtlpApiKey));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        var reply = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        Assert.Null(reply.PartialSuccess);

        var hex = Convert.ToHexStringLower(traceId);
        var list = await JsonAsync(dashboard.SignedIn, "/api/traces?name=causal.wait");
        var row = Assert.Single(list["traces"]!.AsArray());
        Assert.Equal(hex, row!["traceId"]!.GetValue<string>());
        Assert.Equal("node1", row["rootResource"]!.GetValue<string>());
        Assert.Equal("GET /data/{key}", row["rootName"]!.GetValue<string>());
        Assert.Equal(2, row["spanCount"]!.GetValue<int>());

        var trace = await JsonAsync(dashboard.SignedIn, $"/api/traces/{hex}");
        var wait = trace["spans"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "causal.wait")!;
        Assert.Equal(Convert.ToHexStringLower(Id(8, 2)), wait["parentSpanId"]!.GetValue<string>());
        Assert.Equal(30, wait["durationMs"]!.GetValue<double>(), 3);
        var attributes = wait["attributes"]!.AsArray().ToDictionary(a => a!["key"]!.GetValue<string>(), a => a!["value"]!.GetValue<string>());
        Assert.Equal("x", attributes["causalkv.scope"]);
        Assert.Equal("x from node 0 (write 1)", attributes["causalkv.missing"]);
        Assert.Equal("30.5", attributes["causalkv.waited_ms"]);
        Assert.Equal("satisfied", attributes["causalkv.outcome"]);

        var resources = await JsonAsync(dashboard.SignedIn, "/api/telemetry/resources");
        var resource = Assert.Single(resources.AsArray())!;
        Assert.Equal("abcdefgh", resource["instanceId"]!.GetValue<string>());
        Assert.Equal(2, resource["spans"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-key")]
    public async Task An_export_without_the_right_api_key_gets_401_and_stores_nothing(string? apiKey)
    {
        await using var dashboard = await TestDashboard.StartAsync();
        var request = Traces(Resource("node0", "i"), NewSpan(Id(16, 4), Id(8, 5), "gossip.round", 0, 1));

        using var response = await dashboard.Anonymous.SendAsync(Post("/v1/traces", request, apiKey));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, dashboard.Host.Telemetry.Spans.Count);
        Assert.Empty(dashboard.Host.Telemetry.Resources);
    }

    [Fact]
    public async Task An_export_in_another_media_type_gets_415()
    {
        await using var dashboard = await TestDashboard.StartAsync();
        var request = Traces(Resource("node0", "i"), NewSpan(Id(16, 4), Id(8, 5), "gossip.round", 0, 1));

        using var response = await dashboard.Anonymous.SendAsync(Post("/v1/traces", request, dashboard.Host.OtlpApiKey, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task A_body_that_is_not_otlp_gets_400()
    {
        await using var dashboard = await TestDashboard.StartAsync();
        using var content = new ByteArrayContent([0xFF, 0xFF, 0xFF]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/logs") { Content = content };
        request.Headers.Add(OtlpReceiver.ApiKeyHeader, dashboard.Host.OtlpApiKey);

        using var response = await dashboard.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Each_resource_keeps_at_most_the_bound_dropping_its_oldest_spans()
    {
        await using var dashboard = await TestDashboard.StartAsync(new TelemetryLimits { MaxSpansPerResource = 5 });
        var key = dashboard.Host.OtlpApiKey;
        for (var i = 0; i < 12; i++)
        {
            var request = Traces(Resource("node0", "aaaaaaaa"), NewSpan(Id(16, 100 + i), Id(8, 200 + i), "gossip.round", i, 1));
            using var response = await dashboard.Anonymous.SendAsync(Post("/v1/traces", request, key));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Another resource has its own budget: node0's spans do not push it out.
        using (var other = await dashboard.Anonymous.SendAsync(Post("/v1/traces", Traces(Resource("node1", "bbbbbbbb"), NewSpan(Id(16, 999), Id(8, 999), "gossip.round", 0, 1)), key)))
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        var list = await JsonAsync(dashboard.SignedIn, "/api/traces?resource=node0&limit=100");
        var ids = list["traces"]!.AsArray().Select(t => t!["traceId"]!.GetValue<string>()).ToArray();
        Assert.Equal(Enumerable.Range(7, 5).Reverse().Select(i => Convert.ToHexStringLower(Id(16, 100 + i))), ids);
        Assert.Equal(5, dashboard.Host.Telemetry.Spans.CountFor("node0/aaaaaaaa"));
        Assert.Equal(1, dashboard.Host.Telemetry.Spans.CountFor("node1/bbbbbbbb"));
        using var gone = await dashboard.SignedIn.GetAsync($"/api/traces/{Convert.ToHexStringLower(Id(16, 100))}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Otlp_json_with_hex_ids_is_accepted_too()
    {
        await using var dashboard = await TestDashboard.StartAsync();
        const string traceId = "5b8efff798038103d269b633813fc60c";
        const string spanId = "eee19b7ec3c1b174";
        var json = $$$"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"router"}}]},
              "scopeSpans":[{"scope":{"name":"CausalKv.Router"},"spans":[{"traceId":"{{{traceId}}}","spanId":"{{{spanId}}}","name":"route","kind":2,
                "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
                "attributes":[{"key":"causalkv.shard","value":{"stringValue":"shard1"}},{"key":"causalkv.attempts","value":{"intValue":"2"}}],
                "status":{"code":2,"message":"no replica answered"}}]}]}]}
            """;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add(OtlpReceiver.ApiKeyHeader, dashboard.Host.OtlpApiKey);

        using var response = await dashboard.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var trace = await JsonAsync(dashboard.SignedIn, $"/api/traces/{traceId}");
        var span = Assert.Single(trace["spans"]!.AsArray())!;
        Assert.Equal(spanId, span["spanId"]!.GetValue<string>());
        Assert.Equal("Server", span["kind"]!.GetValue<string>());
        Assert.Equal("Error", span["status"]!.GetValue<string>());
        Assert.Equal(1000, span["durationMs"]!.GetValue<double>(), 3);
        Assert.Contains(span["attributes"]!.AsArray(), a => a!["key"]!.GetValue<string>() == "causalkv.attempts" && a["value"]!.GetValue<string>() == "2");
        var errors = await JsonAsync(dashboard.SignedIn, "/api/traces?errors=true");
        Assert.Single(errors["traces"]!.AsArray());
        // As a form sends them: empty filters filter nothing.
        var unfiltered = await JsonAsync(dashboard.SignedIn, "/api/traces?resource=&name=&minMs=&errors=&text=");
        Assert.Single(unfiltered["traces"]!.AsArray());
        Assert.Empty((await JsonAsync(dashboard.SignedIn, "/api/traces?minMs=1001"))["traces"]!.AsArray());
    }

    [Fact]
    public async Task Logs_are_stored_and_found_by_a_search()
    {
        await using var dashboard = await TestDashboard.StartAsync();
        var export = new ExportLogsServiceRequest
        {
            ResourceLogs =
            {
                new ResourceLogs
                {
                    Resource = Resource("node2", "cccccccc"),
                    ScopeLogs =
                    {
                        new ScopeLogs
                        {
                            Scope = new InstrumentationScope { Name = "CausalKv.Node.Cluster.ViewChanger" },
                            LogRecords =
                            {
                                new LogRecord { TimeUnixNano = Now, SeverityNumber = 9, SeverityText = "Information", Body = new AnyValue { StringValue = "Installed view epoch 3" } },
                                new LogRecord { TimeUnixNano = Now + 1, SeverityNumber = 13, Body = new AnyValue { StringValue = "Peer 1 unreachable" }, Attributes = { Attribute("peer", "1") }, TraceId = ByteString.CopyFrom(Id(16, 7)) },
                            },
                        },
                    },
                },
            },
        };
        using var response = await dashboard.Anonymous.SendAsync(Post("/v1/logs", export, dashboard.Host.OtlpApiKey));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var found = (await JsonAsync(dashboard.SignedIn, "/api/logs?q=unreachable")).AsArray();
        var log = Assert.Single(found)!;
        Assert.Equal("node2", log["resource"]!.GetValue<string>());
        Assert.Equal("Warning", log["severity"]!.GetValue<string>());
        Assert.Equal(Convert.ToHexStringLower(Id(16, 7)), log["traceId"]!.GetValue<string>());
        Assert.Single((await JsonAsync(dashboard.SignedIn, "/api/logs?level=13")).AsArray());
        Assert.Equal(2, (await JsonAsync(dashboard.SignedIn, "/api/logs?q=ViewChanger")).AsArray().Count);
    }

    [Fact]
    public async Task Cumulative_metric_exports_become_points_per_interval()
    {
        await using var dashboard = await TestDashboard.StartAsync();
        var start = Now - 10_000_000_000;
        ExportMetricsServiceRequest Export(ulong time, long total, ulong count, double sum, ulong[] buckets) => new()
        {
            ResourceMetrics =
            {
                new ResourceMetrics
                {
                    Resource = Resource("node0", "dddddddd"),
                    ScopeMetrics =
                    {
                        new ScopeMetrics
                        {
                            Scope = new InstrumentationScope { Name = "CausalKv.Node" },
                            Metrics =
                            {
                                new Metric
                                {
                                    Name = "causalkv.gossip.bytes", Unit = "By",
                                    Sum = new Sum { IsMonotonic = true, AggregationTemporality = AggregationTemporality.Cumulative, DataPoints = { new NumberDataPoint { StartTimeUnixNano = start, TimeUnixNano = time, AsInt = total } } },
                                },
                                new Metric
                                {
                                    Name = "causalkv.causal_wait.duration", Unit = "ms",
                                    Histogram = new Histogram
                                    {
                                        AggregationTemporality = AggregationTemporality.Cumulative,
                                        DataPoints = { new HistogramDataPoint { StartTimeUnixNano = start, TimeUnixNano = time, Count = count, Sum = sum, ExplicitBounds = { 10, 100, 1000 }, BucketCounts = { buckets } } },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        };
        foreach (var export in new[] { Export(Now, 1000, 1, 5, [1, 0, 0, 0]), Export(Now + 2_000_000_000, 1600, 3, 405, [1, 0, 2, 0]) })
        {
            using var response = await dashboard.Anonymous.SendAsync(Post("/v1/metrics", export, dashboard.Host.OtlpApiKey));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var instruments = (await JsonAsync(dashboard.SignedIn, "/api/metrics")).AsArray().Select(i => i!["name"]!.GetValue<string>()).ToArray();
        Assert.Contains("causalkv.gossip.bytes", instruments);
        var bytes = await JsonAsync(dashboard.SignedIn, "/api/metrics/instrument?name=causalkv.gossip.bytes");
        Assert.Equal("Counter", bytes["kind"]!.GetValue<string>());
        var points = bytes["series"]![0]!["points"]!.AsArray();
        Assert.Equal([1000d, 600d], points.Select(p => p!["value"]!.GetValue<double>()));
        Assert.Equal(300, points[1]!["rate"]!.GetValue<double>(), 3);

        var waits = await JsonAsync(dashboard.SignedIn, "/api/metrics/instrument?name=causalkv.causal_wait.duration");
        // A single wait in an interval is known exactly: its percentiles are its value, not a bucket's bound.
        Assert.Equal(5, waits["series"]![0]!["points"]![0]!["p99"]!.GetValue<double>(), 3);
        var second = waits["series"]![0]!["points"]![1]!;
        Assert.Equal(2, second["count"]!.GetValue<int>());
        Assert.Equal(200, second["mean"]!.GetValue<double>(), 3);
        // Both waits of the interval fell in (100, 1000]: the median is interpolated inside that bucket.
        Assert.InRange(second["p50"]!.GetValue<double>(), 100, 1000);
    }

    [Fact]
    public void The_log_bound_keeps_the_newest_records_per_resource()
    {
        var store = new TelemetryStore(new TelemetryLimits { MaxLogsPerResource = 3 });
        var node0 = store.Admit(new TelemetryResource("node0", "a", []))!;
        var node1 = store.Admit(new TelemetryResource("node1", "b", []))!;
        store.Logs.Add(Enumerable.Range(1, 10).Select(i => new StoredLog(node0, "c", (ulong)i, 9, "Information", $"line {i}", [], null, null)));
        store.Logs.Add([new StoredLog(node1, "c", 1, 9, "Information", "other", [], null, null)]);

        Assert.Equal(["line 10", "line 9", "line 8"], store.Logs.Query(new LogQuery(Resource: "node0")).Select(l => l.Message));
        Assert.Equal(1, store.Logs.CountFor(node1.Key));
    }

    [Fact]
    public void The_metric_bound_keeps_the_newest_points()
    {
        var limits = new TelemetryLimits { MaxPointsPerSeries = 3 };
        var store = new MetricStore(limits);
        var resource = new TelemetryResource("node0", "x", []);
        for (var i = 1; i <= 10; i++)
            store.Add([new MetricBatch(resource, "CausalKv.Node", "causalkv.keys", "{key}", "", MetricKind.Gauge, false,
                [new MetricSample([], 0, (ulong)i * 1_000_000_000, i)])]);

        var series = Assert.Single(store.Snapshot("causalkv.keys"));
        Assert.Equal([8d, 9d, 10d], series.Points.Select(p => p.Value));
    }
}
