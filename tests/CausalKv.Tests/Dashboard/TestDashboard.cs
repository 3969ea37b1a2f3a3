using System.Net;
using System.Net.Sockets;
using CausalKv.AppHost.Dashboard;
using CausalKv.AppHost.Telemetry;

namespace CausalKv.Tests.Dashboard;

/// <summary>A started dashboard on a free loopback port, with one client signed in through the token URL and one not.</summary>
internal sealed class TestDashboard : IAsyncDisposable
{
    private TestDashboard(DashboardHost host, HttpClient signedIn, HttpClient anonymous)
    {
        Host = host;
        SignedIn = signedIn;
        Anonymous = anonymous;
    }

    public DashboardHost Host { get; }

    /// <summary>Carries the browser cookie the login URL set.</summary>
    public HttpClient SignedIn { get; }

    /// <summary>No cookie: what a stranger (or a service exporting OTLP) has.</summary>
    public HttpClient Anonymous { get; }

    public static async Task<TestDashboard> StartAsync(TelemetryLimits? limits = null)
    {
        var host = new DashboardHost(FreeLoopbackPort(), limits);
        await host.StartAsync();
        var signedIn = new HttpClient(new SocketsHttpHandler { UseCookies = true, CookieContainer = new CookieContainer(), UseProxy = false })
        {
            BaseAddress = new Uri(host.Url),
        };
        using (var login = await signedIn.GetAsync(host.LoginUrl))
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var anonymous = new HttpClient(new SocketsHttpHandler { UseCookies = false, UseProxy = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri(host.Url),
        };
        return new TestDashboard(host, signedIn, anonymous);
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        SignedIn.Dispose();
        Anonymous.Dispose();
        await Host.DisposeAsync();
    }
}
