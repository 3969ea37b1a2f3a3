using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using CausalKv.Tests.Distributed;
using Xunit.Abstractions;

namespace CausalKv.Tests.Hosting;

/// <summary>
/// The packed <c>CausalKv.Hosting</c> is usable with no checkout of this repository: <c>dotnet pack</c> into a
/// local folder feed, a throw-away AppHost in a temporary folder that references only the package (restored from
/// that feed and the machine's usual source), started with <c>dotnet</c> as a user starts it; the router it adds
/// takes a write and answers it back. Its processes, its folders and the package's copy in the global packages
/// folder are removed, also when the test fails.
/// </summary>
public sealed class PackedPackagesTests(ITestOutputHelper output)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(8);
    private static readonly TimeSpan ServeTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task An_AppHost_outside_the_repository_runs_a_cluster_from_the_packed_hosting_package()
    {
        var repo = RepositoryRoot();
        var root = Directory.CreateTempSubdirectory("causalkv-packed-");
        Assert.False(root.FullName.StartsWith(repo + Path.DirectorySeparatorChar, StringComparison.Ordinal), "the AppHost must lie outside the repository");
        // A version of its own: the global packages folder never hands back a package an earlier run extracted.
        var version = "0.0.0-packed." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        var extracted = Path.Combine(GlobalPackagesFolder(), "causalkv.hosting", version);
        Process? appHost = null;
        var log = new StringBuilder();
        var clock = Stopwatch.StartNew();
        try
        {
            var feed = Directory.CreateDirectory(Path.Combine(root.FullName, "feed")).FullName;
            await RunAsync("dotnet", ["pack", Path.Combine(repo, "src", "CausalKv.Hosting"), "-c", "Release", "-o", feed,
                "-p:PackageVersion=" + version, "--disable-build-servers", "-nologo"], repo);
            output.WriteLine($"packed in {clock.Elapsed.TotalSeconds:F0} s");

            var app = WriteAppHost(root.FullName, feed, repo, version);
            await RunAsync("dotnet", ["build", app, "--disable-build-servers", "-nologo"], app);
            output.WriteLine($"AppHost built at {clock.Elapsed.TotalSeconds:F0} s");
            var shipped = Path.Combine(app, "bin", "Debug", "net10.0", "causalkv");
            Assert.True(File.Exists(Path.Combine(shipped, "node", "CausalKv.Node.dll")), "the package's node is copied next to the AppHost");
            Assert.True(File.Exists(Path.Combine(shipped, "router", "CausalKv.Router.dll")), "the package's router is copied next to the AppHost");

            var routerPort = FreePort();
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = app };
            foreach (var a in new[] { Path.Combine(app, "bin", "Debug", "net10.0", "PackedAppHost.dll"), "--RouterPort", routerPort.ToString(CultureInfo.InvariantCulture) })
                info.ArgumentList.Add(a);
            info.Environment["DOTNET_ENVIRONMENT"] = "Development";
            info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort()}";
            info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
            appHost = Process.Start(info)!;
            DataReceivedEventHandler keep = (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
            appHost.OutputDataReceived += keep;
            appHost.ErrorDataReceived += keep;
            appHost.BeginOutputReadLine();
            appHost.BeginErrorReadLine();

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{routerPort}"), Timeout = TimeSpan.FromSeconds(10) };
            var metadata = await PutWhenServingAsync(http, appHost, "packed-key", "from the packed package");
            output.WriteLine($"router served a write at {clock.Elapsed.TotalSeconds:F0} s");
            using var read = new HttpRequestMessage(HttpMethod.Get, "/data/packed-key");
            read.Headers.Add("X-Causal-Metadata", metadata);
            using var answer = await http.SendAsync(read);
            var body = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"GET answered {(int)answer.StatusCode}: {body}");
            using (var json = JsonDocument.Parse(body))
                Assert.Equal("from the packed package", json.RootElement.GetProperty("value").GetString());
            // Logged once Aspire's probe of the router's /health finds it ready (holding a view), which may come just after it served.
            await Eventually.HoldsAsync(() => { lock (log) return Task.FromResult(log.ToString().Contains("Router: ", StringComparison.Ordinal)); },
                TimeSpan.FromSeconds(60), "the AppHost logged the router's address once the router was ready");
        }
        finally
        {
            if (appHost is not null) await StopAsync(appHost);
            KillLeftovers(root.FullName);
            lock (log) output.WriteLine(log.ToString());
            output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F0} s");
            TryDelete(root.FullName);
            TryDelete(extracted);
        }
    }

    /// <summary>PUT until the cluster serves (its first view takes a few seconds after the processes start); the write's metadata.</summary>
    private static async Task<string> PutWhenServingAsync(HttpClient http, Process appHost, string key, string value)
    {
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (deadline.Elapsed < ServeTimeout)
        {
            if (appHost.HasExited) Assert.Fail($"the AppHost exited ({appHost.ExitCode}) before the cluster served");
            try
            {
                using var put = await http.PutAsJsonAsync($"/data/{key}", new { value });
                var body = await put.Content.ReadAsStringAsync();
                if (put.IsSuccessStatusCode)
                {
                    using var json = JsonDocument.Parse(body);
                    return json.RootElement.GetProperty("causal-metadata").GetRawText();
                }
                last = $"{(int)put.StatusCode} {body}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException($"the router did not take a write within {ServeTimeout}: {last}");
    }

    /// <summary>The AppHost project: a nuget.config naming the local feed, and one PackageReference to CausalKv.Hosting.</summary>
    private static string WriteAppHost(string root, string feed, string repo, string version)
    {
        // Nothing of an enclosing folder's build or package settings reaches the AppHost.
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />\n");
        // The feed next to the machine's own sources (the user's NuGet.Config still applies): Aspire and the rest
        // restore as they do for any project here, from the global packages folder when it has them.
        File.WriteAllText(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="causalkv-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var versions = XDocument.Load(Path.Combine(repo, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => (string)p.Attribute("Include")!, p => (string)p.Attribute("Version")!);
        var sdk = XDocument.Load(Path.Combine(repo, "src", "CausalKv.AppHost", "CausalKv.AppHost.csproj")).Root!.Attribute("Sdk")!.Value;
        var app = Directory.CreateDirectory(Path.Combine(root, "app")).FullName;
        File.WriteAllText(Path.Combine(app, "PackedAppHost.csproj"), $"""
            <Project Sdk="{sdk}">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <IsPackable>false</IsPackable>
                <NoWarn>$(NoWarn);ASPIRE010</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Aspire.Hosting.AppHost" Version="{versions["Aspire.Hosting.AppHost"]}" />
                <PackageReference Include="Polly.Core" Version="{versions["Polly.Core"]}" />
                <PackageReference Include="Nerdbank.MessagePack" Version="{versions["Nerdbank.MessagePack"]}" />
                <PackageReference Include="CausalKv.Hosting" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Aspire.Hosting;
            using Microsoft.Extensions.Configuration;

            var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions { Args = args, DisableDashboard = true });
            var key = builder.AddParameter("kv-key", "a-cluster-key-for-this-test-only-0123456789", secret: true);
            var kv = builder.AddCausalKv("kv", shards: 2, replicasPerShard: 1, clusterKey: key);
            builder.AddCausalKvRouter("router", kv, builder.Configuration.GetValue<int>("RouterPort"));
            builder.Build().Run();
            """);
        return app;
    }

    private async Task RunAsync(string file, string[] args, string directory)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(BuildTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = await stdout + await stderr;
        if (process.ExitCode != 0) output.WriteLine(text);
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}:\n{Tail(text)}");
    }

    /// <summary>
    /// SIGTERM, as a service manager stops an AppHost (it stops DCP and every resource; SIGINT may be ignored by a
    /// process started from a background job); killed if it does not exit in time.
    /// </summary>
    private static async Task StopAsync(Process appHost)
    {
        if (appHost.HasExited) return;
        using (var signal = Process.Start("kill", ["-TERM", appHost.Id.ToString(CultureInfo.InvariantCulture)]))
            await signal.WaitForExitAsync();
        try
        {
            await appHost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            appHost.Kill(entireProcessTree: true);
            await appHost.WaitForExitAsync();
        }
    }

    /// <summary>A node or router still running from the AppHost's folder (the AppHost killed before it stopped them).</summary>
    private static void KillLeftovers(string root)
    {
        foreach (var process in Process.GetProcesses())
        {
            using (process)
            {
                try
                {
                    var cmdline = File.ReadAllText($"/proc/{process.Id}/cmdline");
                    if (process.Id != Environment.ProcessId && cmdline.Contains(root, StringComparison.Ordinal)) process.Kill(entireProcessTree: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // gone already, or not ours to read
                }
            }
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string GlobalPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CausalKv.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("CausalKv.sln not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];
}
