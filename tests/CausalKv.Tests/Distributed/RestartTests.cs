using System.Net;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// The whole cluster stopped and started again on its data directory (<c>WithDataDirectory</c>): every node
/// resumes the view it kept (<c>membership.json</c>), the AppHost goes on from the newest epoch instead of
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
}
