using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CausalKv.Sharding;
using CausalKv.Tests.Distributed;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace CausalKv.Tests.Dashboard;

/// <summary>
/// The real Aspire dashboard, driven in Debian's Chromium: log in with the browser token, cut a node from its peers
/// with the dashboard's command button, see a read wait for a write the cut node lacks, heal it from the dashboard,
/// and find the read's <c>causal.wait</c> span with its link to the replication request that released it.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_cut_from_the_dashboard_makes_a_read_wait_and_its_causal_wait_span_links_to_the_push_that_released_it()
    {
        Assert.True(File.Exists(Chromium), $"This test drives {Chromium} (apt-get install -y chromium; ./test.sh installs it).");
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var port = FreePort();
        // As `dotnet run` starts it: the router and the sample run too, each a project resource Aspire could ask a
        // development certificate for.
        await using var app = await KvApp.Create(nodes: 2, shards: 1).WithSample()
            .WithDashboard(port, FreePort(), token).StartAsync();
        using var node0 = app.CreateHttpClient("node0");
        using var node1 = app.CreateHttpClient("node1");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
        page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
        // Assertions wait as long as actions do: on a loaded machine a resource may take more than the default 5 s to show Running.
        SetDefaultExpectTimeout((float)Patience.TotalMilliseconds);
        try
        {
            // The login link the AppHost prints: the token lets us in, and the resources are listed.
            var dashboard = $"http://127.0.0.1:{port}";
            await page.GotoAsync($"{dashboard}/login?t={token}");
            var row = Row(page, "kv-node0");
            await UntilVisibleReloadingAsync(page, row.Locator("td[title='Running']"));
            foreach (var other in new[] { "kv-node1", "router", "comments" })
                await UntilVisibleReloadingAsync(page, Row(page, other).Locator("td[title='Running']"));
            // The banner a machine without a trusted development certificate shows on every page: none here.
            await Expect(page.GetByText("No trusted development certificate")).ToHaveCountAsync(0);
            await Expect(page.GetByText("development certificate", new() { Exact = false })).ToHaveCountAsync(0);

            // Cut from the dashboard: the command's button on node0's row, its toast, and the node's own fault setting.
            await row.Locator("fluent-button[title^='Drop traffic']").ClickAsync();
            await Expect(page.GetByText("kv-node0 \"Cut from peers\" succeeded")).ToBeVisibleAsync();
            Assert.Contains("1", await node0.GetStringAsync("/admin/faults"));

            // A write at node1 that node0 cannot receive; a read at node0 that depends on it waits, in a trace we name.
            var key = KeyOf(app, "shard0");
            var writer = new KvSession();
            Assert.Equal(HttpStatusCode.Created, (await writer.PutAsync(node1, key, "released")).Status);
            var traceId = ActivityTraceId.CreateRandom().ToHexString();
            using var read = new HttpRequestMessage(HttpMethod.Get, $"/data/{key}");
            read.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            read.Headers.Add("X-Causal-Metadata", writer.Metadata!.ToJsonString());
            var answer = node0.SendAsync(read);
            Assert.True(await Eventually.IsStillPendingAfter(answer, TimeSpan.FromSeconds(2)), "the read waits while node0 is cut off");

            // Heal from the dashboard: the push arrives and the read answers with the write.
            await row.Locator("fluent-button[title^='Restore every cut link']").ClickAsync();
            await Expect(page.GetByText("kv-node0 \"Heal links\" succeeded")).ToBeVisibleAsync();
            using (var response = await answer.WaitAsync(Patience))
                Assert.Contains("released", await response.Content.ReadAsStringAsync());

            // The trace: its causal.wait span, satisfied, linked to the replication request that released it.
            await Eventually.HoldsAsync(async () =>
            {
                await page.GotoAsync($"{dashboard}/traces/detail/{traceId}");
                try
                {
                    await page.GetByText("causal.wait", new() { Exact = true }).First.WaitForAsync(new() { Timeout = 3000 });
                    return true;
                }
                catch (TimeoutException)
                {
                    return false;
                }
            }, Patience, "the read's trace reached the dashboard");
            await page.GetByText("causal.wait", new() { Exact = true }).First.ClickAsync();
            await Expect(page.GetByText("satisfied", new() { Exact = true })).ToBeVisibleAsync();
            var links = page.Locator(".property-details-accordion-item").Filter(new() { HasText = "Links" }).First;
            await Expect(links.GetByText("/internal/replicate").First).ToBeVisibleAsync();
            output.WriteLine($"causal.wait links to: {await links.GetByText("/internal/replicate").First.TextContentAsync()}");

            // Following the link leads to the push's trace, where node1's replication.push sent it.
            await links.Locator("fluent-button").Last.ClickAsync();
            await Expect(page.GetByText("replication.push").First).ToBeVisibleAsync();
        }
        catch
        {
            var shot = Path.Combine(Path.GetTempPath(), $"causalkv-dashboard-failure-{Guid.NewGuid():N}.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            output.WriteLine($"screenshot of the failure: {shot}");
            throw;
        }
    }

    /// <summary>
    /// Waits for <paramref name="target"/>, reloading the page when the dashboard's own page reports "An unhandled
    /// error has occurred" (its live connection can fail while a loaded machine starts the app); fails at the deadline.
    /// </summary>
    private static async Task UntilVisibleReloadingAsync(IPage page, ILocator target)
    {
        var deadline = DateTime.UtcNow + Patience;
        var broken = page.GetByText("An unhandled error has occurred");
        while (true)
        {
            await Expect(target.Or(broken).First).ToBeVisibleAsync(new() { Timeout = (float)Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds) });
            if (await target.IsVisibleAsync()) return;
            if (DateTime.UtcNow > deadline) break;
            await page.ReloadAsync();
        }
        await Expect(target).ToBeVisibleAsync(new() { Timeout = 1 });
    }

    private static ILocator Row(IPage page, string resource) =>
        page.Locator("tr.resource-row", new()
        {
            Has = page.Locator(".resource-name-text", new() { HasTextRegex = new System.Text.RegularExpressions.Regex($"^{resource}$") }),
        });

    private static string KeyOf(KvApp app, string shard)
    {
        var ring = new HashRing(app.Layout.Keys);
        return Enumerable.Range(0, 1000).Select(i => $"dash-{Guid.NewGuid():N}-{i}").First(k => ring.ShardFor(k) == shard);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
