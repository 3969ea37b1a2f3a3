using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CausalKv.Node.Api;
using CausalKv.Protocol;
using CausalKv.Sharding;
using Xunit.Abstractions;

namespace CausalKv.Tests.Distributed;

/// <summary>
/// Two nodes that disagree about the view forward a key to each other: the loop ends after a few hops with a 508,
/// however many hops a client claims in <c>X-CausalKv-Hops</c> (only nodes, with the cluster key, are believed).
/// </summary>
public sealed class ForwardingLoopTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_forwarding_loop_ends_with_508_whatever_hop_count_a_client_sends()
    {
        await using var app = await KvApp.Create(nodes: 2, shards: 2).WithoutInitialView().StartAsync();
        using var node0 = app.CreateHttpClient("node0", TimeSpan.FromSeconds(60));
        using var node1 = app.CreateHttpClient("node1", TimeSpan.FromSeconds(60));
        var address = new[] { node0.BaseAddress!.Authority, node1.BaseAddress!.Authority };
        // Node 0 holds that s1 is node 1's; node 1 holds that s1 is node 0's: a key of s1 goes back and forth.
        await InstallAsync(node0, app.ClusterKey, (0, address[0]), (1, address[1]));
        await InstallAsync(node1, app.ClusterKey, (1, address[1]), (0, address[0]));
        var ring = new HashRing(["s0", "s1"]);
        var key = Enumerable.Range(0, 1000).Select(i => $"loop-{i}").First(k => ring.ShardFor(k) == "s1");

        foreach (var (what, hops, withKey) in new (string, string?, bool)[]
                 {
                     ("no hops header", null, false),
                     ("a client's hops of int.MinValue", "-2147483648", false),
                     ("a client's hops of -1000000", "-1000000", false),
                     ("hops of -5 with the cluster key (clamped to 0)", "-5", true),
                 })
        {
            var clock = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Get, KeyPath.UriOf(node0.BaseAddress.GetLeftPart(UriPartial.Authority), key))
            {
                Content = new StringContent("{}", Encoding.UTF8, "application/json"),
            };
            if (hops is not null) request.Headers.Add(ProtocolHeaders.Hops, hops);
            if (withKey) request.Headers.Add(ProtocolHeaders.ClusterKey, app.ClusterKey);
            using var response = await node0.SendAsync(request);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>();
            output.WriteLine($"{what}: {(int)response.StatusCode} after {clock.ElapsedMilliseconds} ms: {error}");
            Assert.Equal((HttpStatusCode)508, response.StatusCode);
            Assert.Contains($"forwarded {ShardForwarderMaxHops} times", error);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{what}: the loop took {clock.Elapsed}");
        }

        // A node's own count is believed: with the cluster key, a request already forwarded the most times stops at once.
        using (var forwarded = new HttpRequestMessage(HttpMethod.Get, KeyPath.UriOf(node0.BaseAddress.GetLeftPart(UriPartial.Authority), key)))
        {
            forwarded.Headers.Add(ProtocolHeaders.Hops, $"{ShardForwarderMaxHops}");
            forwarded.Headers.Add(ProtocolHeaders.ClusterKey, app.ClusterKey);
            using var response = await node0.SendAsync(forwarded);
            Assert.Equal((HttpStatusCode)508, response.StatusCode);
        }
    }

    private const int ShardForwarderMaxHops = CausalKv.Node.Api.ShardForwarder.MaxHops;

    private static async Task InstallAsync(HttpClient node, string clusterKey, (int Id, string Address) s0, (int Id, string Address) s1)
    {
        var body = new JsonObject
        {
            ["view"] = new JsonObject
            {
                ["s0"] = new JsonArray(new JsonObject { ["address"] = s0.Address, ["id"] = s0.Id }),
                ["s1"] = new JsonArray(new JsonObject { ["address"] = s1.Address, ["id"] = s1.Id }),
            },
            ["epoch"] = 5,
        };
        using var request = new HttpRequestMessage(HttpMethod.Put, "/view") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add(ProtocolHeaders.ClusterKey, clusterKey);
        using var response = await node.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT /view: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(5, (await node.GetFromJsonAsync<JsonObject>("/view"))!["epoch"]!.GetValue<long>());
    }
}
