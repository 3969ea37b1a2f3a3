using System.Net;
using System.Text.Json.Nodes;
using CausalKv.AppHost.Dashboard;
using CausalKv.AppHost.Testing;
using CausalKv.Sharding;
using CausalKv.Tests.Distributed;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace CausalKv.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium driven by Playwright) over
/// a real cluster of 4 nodes in 2 shards plus the router, exporting OTLP to the
/// dashboard: every resource shows Running; a link between a shard's two
/// replicas is cut from the Cluster page; a write at one replica and a read of it
/// through the router that lands on the other replica waits; healing from the
/// page lets the read answer; and the read's <c>causal.wait</c> span shows on the
/// Traces page with its attributes. Screenshots of both pages go to docs/.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string MetadataHeader = "X-Causal-Metadata";
    private static readonly TimeSpan ReadSurelyWaiting = TimeSpan.FromSeconds(20);
    private const float UiTimeoutMs = 60_000;

    [Fact]
    public async Task A_cut_a_causal_wait_and_the_heal_are_seen_and_driven_from_the_dashboard()
    {
        Assert.True(File.Exists(Chromium),
            $"{Chromium} is missing: the dashboard's browser test needs Debian's chromium (apt-get update && apt-get install -y chromium; .ci/run does this).");

        var builder = CausalKvTestingBuilder.Create(nodes: 4, shards: 2);
        // Exporting telemetry makes every process start slower; CI runs other clusters beside this one on two cores.
        builder.Options.StartTimeout = TimeSpan.FromMinutes(3);
        await using var dashboard = new DashboardHost(TestDashboard.FreeLoopbackPort());
        builder.Options.OtlpEndpoint = dashboard.OtlpEndpoint;
        builder.Options.OtlpApiKey = dashboard.OtlpApiKey;
        await using var app = builder.Build();
        dashboard.Attach(app);
        await dashboard.StartAsync();
        await app.StartAsync();

        // The key's shard and its two replicas: A takes the write, B is cut off from A.
        var key = "dashboard-" + Guid.NewGuid().ToString("N")[..8];
        var shard = new HashRing(app.Layout.Keys).ShardFor(key);
        var (a, b) = (app.Layout[shard][0], app.Layout[shard][1]);
        Log($"key {key} lives in {shard} on node{a} and node{b}");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 1000 } });
        SetDefaultExpectTimeout(UiTimeoutMs);
        try
        {
            // Resources: signed in through the token URL, every resource Running.
            await page.GotoAsync(dashboard.LoginUrl);
            foreach (var resource in app.Resources)
                await Expect(page.Locator($"#resources tr[data-name='{resource.Name}'] td.state")).ToHaveTextAsync("Running");

            // Cluster: cut A-B with the page's link control.
            await page.GotoAsync($"{dashboard.Url}/cluster");
            await Expect(page.Locator("#epoch")).ToHaveTextAsync(app.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await page.Locator("#link-a").SelectOptionAsync(a.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await page.Locator("#link-b").SelectOptionAsync(b.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await page.Locator("#cut-link").ClickAsync();
            await Expect(page.Locator($"[data-cut='{Math.Min(a, b)}-{Math.Max(a, b)}']")).ToBeVisibleAsync();
            Assert.Contains(b, app.Cuts[a]);

            // Write at A, then read through the router with the write's metadata until a read lands on B and waits there.
            var session = new KvSession();
            using var nodeA = app.CreateHttpClient($"node{a}");
            var written = await session.PutAsync(nodeA, key, "seen-after-heal");
            Assert.Equal(HttpStatusCode.Created, written.Status);
            using var router = app.CreateHttpClient("router", TimeSpan.FromSeconds(120));
            var metadata = session.Metadata!.ToJsonString();
            var waiting = await ReadThatWaitsAsync(router, key, metadata, dashboard, $"node{b}");

            await Expect(page.Locator($"tr[data-node='{a}']")).ToBeVisibleAsync();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = DocsPath("dashboard-cluster.png"), FullPage = true });

            // Heal from the page; the waiting read answers with the value.
            await page.Locator("#heal-link").ClickAsync();
            await Expect(page.Locator("[data-cut]")).ToHaveCountAsync(0);
            Assert.Empty(app.Cuts);
            using var answer = await waiting.WaitAsync(TimeSpan.FromSeconds(60));
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"the waiting read answered {(int)answer.StatusCode}: {body}");
            Assert.Equal("seen-after-heal", JsonNode.Parse(body)!["value"]!.GetValue<string>());

            // Traces: one click to the causal waits, open ours, its span's attributes are shown.
            await page.GotoAsync($"{dashboard.Url}/traces");
            await page.Locator("#causal-waits").ClickAsync();
            var row = page.Locator("#traces tbody tr", new PageLocatorOptions { HasText = $"scope={key}" });
            await Expect(row).ToHaveCountAsync(1);
            await row.ClickAsync();
            var detail = page.Locator("#waterfall tr.span-detail");
            await Expect(detail).ToHaveCountAsync(1);
            await Expect(page.Locator("#waterfall tr.wf-row[data-name='causal.wait']")).ToHaveCountAsync(1);
            await Expect(Attribute(detail, "causalkv.scope")).ToHaveTextAsync(key);
            await Expect(Attribute(detail, "causalkv.missing")).Not.ToBeEmptyAsync();
            await Expect(Attribute(detail, "causalkv.waited_ms")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+(\.\d+)?$"));
            await Expect(Attribute(detail, "causalkv.outcome")).ToHaveTextAsync("satisfied");
            // The wait sits inside the request's trace: the router's hop and the node's server span are there too.
            await Expect(page.Locator("#waterfall tr.wf-row")).Not.ToHaveCountAsync(1);
            Log($"causal.wait: missing '{await Attribute(detail, "causalkv.missing").TextContentAsync()}', waited {await Attribute(detail, "causalkv.waited_ms").TextContentAsync()} ms");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = DocsPath("dashboard-traces.png"), FullPage = true });
        }
        catch
        {
            var failure = Path.Combine(AppContext.BaseDirectory, "dashboard-failure.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = failure, FullPage = true });
            Log($"screenshot of the failing page: {failure}");
            throw;
        }
        finally
        {
            await app.HealAllAsync();
        }
    }

    /// <summary>
    /// The router picks one of the shard's two replicas per read. A read that lands on A answers at
    /// once (A holds the write); one that lands on B cannot answer while B is cut off from A. That one
    /// is recognised without guessing from time: B's own <c>http.server.active_requests</c>, exported
    /// to the dashboard every second, stays at one or more for two exports in a row (health probes
    /// last milliseconds; A's traffic to B is dropped). A read still unanswered after
    /// <see cref="ReadSurelyWaiting"/> counts as waiting too, in case metrics lag on a loaded machine.
    /// </summary>
    private async Task<Task<HttpResponseMessage>> ReadThatWaitsAsync(HttpClient router, string key, string metadata, DashboardHost dashboard, string replicaB)
    {
        for (var attempt = 1; attempt <= 40; attempt++)
        {
            var sentAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var request = new HttpRequestMessage(HttpMethod.Get, $"/data/{Uri.EscapeDataString(key)}");
            request.Headers.TryAddWithoutValidation(MetadataHeader, metadata);
            var read = router.SendAsync(request);
            var deadline = DateTime.UtcNow + ReadSurelyWaiting;
            while (!read.IsCompleted)
            {
                if (BusyFor(dashboard, replicaB, sentAt, exports: 2))
                {
                    Log($"read {attempt} through the router is waiting at {replicaB} (its active requests say so)");
                    return read;
                }
                if (DateTime.UtcNow > deadline)
                {
                    Log($"read {attempt} through the router is still unanswered after {ReadSurelyWaiting.TotalSeconds} s: waiting");
                    return read;
                }
                await Task.WhenAny(read, Task.Delay(100));
            }
            using var answered = await read;
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            Log($"read {attempt} through the router answered at once (it went to the replica holding the write)");
        }
        throw new InvalidOperationException("40 reads through the router all went to the replica holding the write.");
    }

    /// <summary>The resource's last <paramref name="exports"/> exports of active server requests since <paramref name="sinceMs"/> all show one or more.</summary>
    private static bool BusyFor(DashboardHost dashboard, string resource, double sinceMs, int exports)
    {
        var points = dashboard.Telemetry.Metrics.Snapshot("http.server.active_requests")
            .Where(s => s.Resource.ServiceName == resource)
            .SelectMany(s => s.Points)
            .Where(p => p.TimeMs > sinceMs)
            .OrderBy(p => p.TimeMs)
            .TakeLast(exports)
            .ToArray();
        return points.Length == exports && points.All(p => p.Value >= 1);
    }

    private static ILocator Attribute(ILocator detail, string key) => detail.Locator($"table.attrs tr[data-key='{key}'] td.v").First;

    /// <summary>docs/ of the repository: the folder holding CausalKv.sln, found above the test's output folder.</summary>
    private static string DocsPath(string file)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CausalKv.sln"))) dir = dir.Parent;
        if (dir is null) throw new InvalidOperationException($"No CausalKv.sln above {AppContext.BaseDirectory}.");
        var docs = Directory.CreateDirectory(Path.Combine(dir.FullName, "docs"));
        return Path.Combine(docs.FullName, file);
    }

    private void Log(string line)
    {
        try { output.WriteLine(line); }
        catch (InvalidOperationException) { } // console lines can arrive after the test finished
    }
}
