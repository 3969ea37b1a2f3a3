using System.Net;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// The whole cluster stopped and started again on its data directory (<c>WithDataDirectory</c>): every node
/// resumes the view it kept (<c>membership.json</c>), whoever installs views goes on from the newest epoch instead of
/// offering epoch 1 again (which the nodes would refuse as stale), and the data written before is still there.
/// </summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_cluster_started_again_on_its_data_directory_goes_on_from_its_view_with_its_data()
    {
        var dir = Directory.CreateTempSubdirectory("causalkv-restart-").FullName;
        try
        {
            await using (var first = await KvApp.Create(nodes: 2, shards: 1).WithoutRouter().WithDataDirectory(dir).StartAsync())
            {
                Assert.Equal(1, first.Epoch);
                using var node0 = first.CreateHttpClient("node0");
                using var node1 = first.CreateHttpClient("node1");
                Assert.Equal(HttpStatusCode.Created, (await new KvSession().PutAsync(node0, "kept", "v1")).Status);
                await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(node1, "kept")).Value == "v1",
                    TimeSpan.FromSeconds(30), "the write replicated to node1");
            }
            Assert.True(File.Exists(Path.Combine(dir, $"{KvApp.ClusterName}-node0", "membership.json")), "node0 kept its membership");

            await using var second = await KvApp.Create(nodes: 2, shards: 1).WithoutRouter().WithDataDirectory(dir).StartAsync();
            Assert.Equal(2, second.Epoch);
            foreach (var name in new[] { "node0", "node1" })
            {
                using var node = second.CreateHttpClient(name);
                var read = await new KvSession().GetAsync(node, "kept");
                Assert.Equal(HttpStatusCode.OK, read.Status);
                Assert.Equal("v1", read.Value);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_reconciled_cluster_started_again_on_its_data_directory_keeps_its_declared_view_and_its_data()
    {
        var dir = Directory.CreateTempSubdirectory("causalkv-restart-").FullName;
        try
        {
            long epoch;
            await using (var first = await KvApp.Create(nodes: 2, shards: 1).Reconciled().WithDataDirectory(dir).StartAsync())
            {
                epoch = first.Epoch;
                Assert.Equal(CausalKv.Sharding.ClusterDeclaration.EpochsPerGeneration + 1, epoch);
                using var router = first.CreateHttpClient("router");
                // Serving means every member holds the view, and the router reports ready only once it routes by it:
                // the first write through it is taken, not answered 503.
                var written = await new KvSession().PutAsync(router, "kept", "v1");
                Assert.True(written.Status is HttpStatusCode.Created or HttpStatusCode.OK, $"PUT through the router answered {(int)written.Status}: {written.Error}");
                using var node0 = first.CreateHttpClient("node0");
                using var node1 = first.CreateHttpClient("node1");
                await Eventually.HoldsAsync(async () => (await new KvSession().GetAsync(node0, "kept")).Value == "v1"
                    && (await new KvSession().GetAsync(node1, "kept")).Value == "v1", TimeSpan.FromSeconds(30), "the write is on both replicas");
            }

            // The same names at new ports (each run picks its own): the router keeps generation 1 and, at most, gives the
            // view a revision with the new addresses; each node keeps its identity and its data.
            await using var second = await KvApp.Create(nodes: 2, shards: 1).Reconciled().WithDataDirectory(dir).StartAsync();
            Assert.True(second.Epoch >= epoch, $"epoch {second.Epoch} goes on from {epoch}");
            Assert.Equal(1, CausalKv.Sharding.ClusterDeclaration.GenerationOf(second.Epoch));
            foreach (var name in new[] { "node0", "node1", "router" })
            {
                using var client = second.CreateHttpClient(name);
                // A 503 says "retry": the nodes came back holding the view with their old addresses, and the router
                // routes by it until its reconciler has sent the revision with the new ones. Any other answer counts.
                var status = HttpStatusCode.ServiceUnavailable;
                string? value = null;
                await Eventually.HoldsAsync(async () =>
                {
                    var read = await new KvSession().GetAsync(client, "kept");
                    (status, value) = (read.Status, read.Value);
                    return status != HttpStatusCode.ServiceUnavailable;
                }, TimeSpan.FromSeconds(30), $"{name} answers");
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal("v1", value);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
