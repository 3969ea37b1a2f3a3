using System.Net;

namespace CausalKv.Tests.Dashboard;

/// <summary>The browser token: without the cookie the login URL sets, no page, data or control answers.</summary>
public sealed class DashboardAccessTests
{
    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/cluster")]
    [InlineData("GET", "/assets/app.js")]
    [InlineData("GET", "/api/resources")]
    [InlineData("GET", "/api/traces")]
    [InlineData("GET", "/api/logs")]
    [InlineData("GET", "/api/metrics")]
    [InlineData("GET", "/api/cluster")]
    [InlineData("GET", "/api/console/node0")]
    [InlineData("POST", "/api/resources/node0/kill")]
    [InlineData("POST", "/api/cluster/links/0/1/cut")]
    [InlineData("POST", "/api/cluster/heal-all")]
    public async Task Everything_but_login_and_otlp_answers_401_without_the_cookie(string method, string path)
    {
        await using var dashboard = await TestDashboard.StartAsync();

        using var response = await dashboard.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/traces")]
    [InlineData("/metrics")]
    [InlineData("/cluster")]
    [InlineData("/console")]
    [InlineData("/structured-logs")]
    public async Task Every_page_is_served_once_signed_in(string path)
    {
        await using var dashboard = await TestDashboard.StartAsync();

        using var response = await dashboard.SignedIn.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/assets/app.js", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_wrong_token_does_not_sign_in()
    {
        await using var dashboard = await TestDashboard.StartAsync();

        using var response = await dashboard.Anonymous.GetAsync("/login?t=0123");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("/traces?name=causal.wait", "/traces?name=causal.wait")]
    [InlineData("//evil.example/", "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("/\\evil.example", "/")]
    public async Task Login_goes_on_to_a_dashboard_path_only(string next, string expected)
    {
        await using var dashboard = await TestDashboard.StartAsync();

        using var response = await dashboard.Anonymous.GetAsync($"{dashboard.Host.LoginUrl}&next={Uri.EscapeDataString(next)}");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(expected, response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task The_otlp_endpoint_is_the_dashboard_listener_on_loopback()
    {
        await using var dashboard = await TestDashboard.StartAsync();

        var endpoint = new Uri(dashboard.Host.OtlpEndpoint!);

        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(endpoint.Host)));
        Assert.Equal(new Uri(dashboard.Host.Url).Port, endpoint.Port);
    }
}
