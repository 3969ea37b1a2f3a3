using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace CausalKv.Tests.Hosting;

/// <summary>
/// <c>dotnet run --project src/CausalKv.AppHost -- --publisher manifest --output-path dir</c>, run on the AppHost the
/// tests were built with: the manifest names no loopback address or port, asks for no fault injection, points no node
/// at a temporary folder, and gives the router the declared cluster by node name.
/// </summary>
public sealed class PublishManifestTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_published_manifest_has_no_loopback_ports_no_fault_injection_and_no_temporary_folders()
    {
        var dir = Directory.CreateTempSubdirectory("causalkv-manifest-");
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "CausalKv.AppHost.dll"), "--publisher", "manifest", "--output-path", dir.FullName })
                info.ArgumentList.Add(a);
            info.Environment["Parameters__kv-cluster-key"] = "not-a-secret-of-any-cluster";
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            output.WriteLine(await stdout);
            Assert.True(process.ExitCode == 0, await stderr);

            var path = Directory.EnumerateFiles(dir.FullName, "*.json", SearchOption.AllDirectories).Single();
            var text = await File.ReadAllTextAsync(path);
            output.WriteLine(text);
            foreach (var loopback in new[] { "127.0.0.1", "localhost", "[::1]" }) Assert.DoesNotContain(loopback, text);
            Assert.DoesNotContain("EnableFaultInjection", text);
            Assert.DoesNotContain("DataDirectory", text);

            using var manifest = JsonDocument.Parse(text);
            var resources = manifest.RootElement.GetProperty("resources");
            // No resource is given a temporary folder (a project's own path, relative to the manifest, may lie anywhere).
            var temp = Path.GetTempPath().TrimEnd('/');
            foreach (var resource in resources.EnumerateObject())
                if (resource.Value.TryGetProperty("env", out var env))
                    foreach (var variable in env.EnumerateObject())
                        Assert.False(variable.Value.ToString().StartsWith(temp, StringComparison.Ordinal), $"{resource.Name} gets {variable.Name}={variable.Value}");
            var node0 = resources.GetProperty("kv-node0");
            Assert.Equal("0", node0.GetProperty("env").GetProperty("NODE_IDENTIFIER").GetString());
            var binding = node0.GetProperty("bindings").GetProperty("http");
            Assert.Equal(8080, binding.GetProperty("targetPort").GetInt32());
            Assert.False(binding.TryGetProperty("port", out _), "no host port is fixed");
            var router = resources.GetProperty("router").GetProperty("env");
            Assert.Equal("1", router.GetProperty("CausalKv__Cluster__Generation").GetString());
            Assert.Equal("kv-node0", router.GetProperty("CausalKv__Cluster__Layout__shard0__0").GetString());
            Assert.Contains("kv-node0.bindings.http", router.GetProperty("services__kv-node0__http__0").GetString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
