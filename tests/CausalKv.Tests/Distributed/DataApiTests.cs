using System.Net;
using System.Text;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CausalKv.Tests.Distributed;

/// <summary>The data API on a replica pair: answers, metadata, and every bad input refused with nothing changed.</summary>
[Collection(ReplicaPairCollection.Name)]
public sealed class DataApiTests(ReplicaPairFixture cluster) : IAsyncLifetime
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);
    private readonly string _p = Guid.NewGuid().ToString("N")[..8] + "-";
    private HttpClient N0 => cluster.Node(0);
    private HttpClient N1 => cluster.Node(1);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => cluster.App.HealAllAsync();

    [Fact]
    public async Task A_session_reads_its_writes_through_the_other_replica()
    {
        var s = new KvSession();
        for (var i = 0; i < 20; i++)
        {
            Assert.True((await s.PutAsync(N0, $"{_p}k{i}", $"v{i}")).Status is HttpStatusCode.Created or HttpStatusCode.OK);
            var read = await s.GetAsync(N1, $"{_p}k{i}");
            Assert.Equal(HttpStatusCode.OK, read.Status);
            Assert.Equal($"v{i}", read.Value);
        }
        var update = await s.PutAsync(N1, _p + "k0", "changed");
        Assert.Equal(HttpStatusCode.OK, update.Status);
        Assert.Equal("changed", (await s.GetAsync(N0, _p + "k0")).Value);
    }

    [Fact]
    public async Task Data_answers_say_the_epoch_of_the_view_they_were_given_under()
    {
        var epoch = (await N0.GetFromJsonAsync<JsonElement>("/view")).GetProperty("epoch").GetInt64();
        using var answer = await N0.GetAsync($"/data/{_p}epoch");
        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
        Assert.Equal(epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(answer.Headers.GetValues("X-CausalKv-Epoch")));
    }

    [Fact]
    public async Task Delete_then_read_answers_404_with_metadata_on_every_replica()
    {
        var s = new KvSession();
        await s.PutAsync(N0, _p + "gone", "here");
        var deleted = await s.DeleteAsync(N1, _p + "gone");
        Assert.Equal(HttpStatusCode.OK, deleted.Status);
        foreach (var node in new[] { N0, N1 })
        {
            var read = await s.GetAsync(node, _p + "gone");
            Assert.Equal(HttpStatusCode.NotFound, read.Status);
            Assert.NotNull(read.Metadata);
            Assert.Contains("does not exist", read.Error);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().DeleteAsync(N0, _p + "never-written")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().GetAsync(N0, _p + "never-written")).Status);
    }

    [Fact]
    public async Task Get_all_returns_the_shards_keys_and_waits_for_a_missing_dependency()
    {
        var s = new KvSession();
        await s.PutAsync(N0, _p + "a", "1");
        await s.PutAsync(N0, _p + "b", "2");
        var all = await s.GetAllAsync(N1);
        Assert.Equal(HttpStatusCode.OK, all.Status);
        var items = all.Body["items"]!.AsObject();
        Assert.Equal("1", items[_p + "a"]!.GetValue<string>());
        Assert.Equal("2", items[_p + "b"]!.GetValue<string>());

        await cluster.App.CutAsync(0, 1);
        await s.PutAsync(N0, _p + "c", "3");
        var waiting = s.GetAllAsync(N1);
        Assert.True(await Eventually.IsStillPendingAfter(waiting, TimeSpan.FromSeconds(1.5)), "GET /data waits while any key of the shard lacks a write the session depends on");
        await cluster.App.HealAsync(0, 1);
        var healed = await waiting.WaitAsync(Soon);
        Assert.Equal("3", healed.Body["items"]![_p + "c"]!.GetValue<string>());
    }

    [Fact]
    public async Task Metadata_stays_compact_while_replicas_are_in_touch_and_holds_one_entry_per_key_under_a_partition()
    {
        var s = new KvSession();
        for (var i = 0; i < 100; i++) await s.PutAsync(N0, $"{_p}m{i}", "v");
        // In steady state dependencies every replica holds are dropped.
        await Eventually.HoldsAsync(async () =>
        {
            await s.GetAsync(N0, _p + "m0");
            return s.DependencyCount <= 1;
        }, Soon, "metadata shrinks once both replicas hold the writes");

        await cluster.App.CutAsync(0, 1);
        for (var round = 0; round < 3; round++)
            for (var i = 0; i < 10; i++) await s.PutAsync(N0, $"{_p}p{i}", $"r{round}");
        Assert.InRange(s.DependencyCount, 1, 10);
        await cluster.App.HealAsync(0, 1);
        await Eventually.HoldsAsync(async () =>
        {
            await s.GetAsync(N1, _p + "p0");
            return s.DependencyCount <= 1;
        }, Soon, "after heal the metadata shrinks again");
    }

    public static TheoryData<string, string, HttpStatusCode> BadPuts => new()
    {
        { "malformed JSON", "{\"value\": \"1\"", HttpStatusCode.BadRequest },
        { "not an object", "[1,2]", HttpStatusCode.BadRequest },
        { "no body", "", HttpStatusCode.BadRequest },
        { "number value", "{\"value\": 5}", HttpStatusCode.BadRequest },
        { "null value", "{\"value\": null}", HttpStatusCode.BadRequest },
        { "no value", "{\"causal-metadata\": {}}", HttpStatusCode.BadRequest },
        { "foreign metadata", "{\"value\": \"1\", \"causal-metadata\": {\"vector\": [1, 2, 3]}}", HttpStatusCode.BadRequest },
        { "other cluster's metadata", "{\"value\": \"1\", \"causal-metadata\": {\"ckv\": \"0123456789abcdef\", \"d\": {}}}", HttpStatusCode.BadRequest },
        { "broken metadata", "{\"value\": \"1\", \"causal-metadata\": {\"ckv\": \"@\", \"d\": {\"k\": {\"c\": {\"x\": -1}, \"t\": [1]}}}}", HttpStatusCode.BadRequest },
        { "metadata not an object", "{\"value\": \"1\", \"causal-metadata\": \"abc\"}", HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(BadPuts))]
    public async Task Bad_input_is_refused_with_a_json_error_and_changes_nothing(string what, string body, HttpStatusCode expected)
    {
        var before = await N0.GetStringAsync("/admin/digest");
        body = body.Replace("@", CausalKv.Causality.CausalMetadataCodec.ClusterIdFor(cluster.App.ClusterKey), StringComparison.Ordinal);
        using var response = await N0.PutAsync($"/data/{_p}bad", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(expected, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(json["error"]?.GetValue<string>()), what);
        Assert.Equal(before, await N0.GetStringAsync("/admin/digest"));
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().GetAsync(N0, _p + "bad")).Status);
    }

    [Fact]
    public async Task Forged_metadata_is_refused_stores_nothing_and_cannot_make_other_reads_wait()
    {
        var (x, y) = (_p + "forged-x", _p + "forged-y");
        var id = CausalKv.Causality.CausalMetadataCodec.ClusterIdFor(cluster.App.ClusterKey);
        // The right cluster id and a made-up dependency on y: without this cluster's MAC it is not metadata.
        var invented = $$$"""{"ckv":"{{{id}}}","d":{"{{{y}}}":{"c":{"4398046511105":7},"t":[9999999999999,0]}},"m":"AAAAAAAAAAAAAAAAAAAAAA"}""";
        var before = await N0.GetStringAsync("/admin/digest");
        foreach (var metadata in new[] { invented, invented.Replace(",\"m\":\"AAAAAAAAAAAAAAAAAAAAAA\"", "", StringComparison.Ordinal) })
        {
            using var response = await N0.PutAsync($"/data/{x}",
                new StringContent($$"""{"value":"v","causal-metadata":{{metadata}}}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("integrity", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        }
        Assert.Equal(before, await N0.GetStringAsync("/admin/digest"));
        // Nothing was stored, so no later reader of x inherits a dependency on a write of y that does not exist.
        Assert.Equal(HttpStatusCode.NotFound, (await new KvSession().GetAsync(N0, x)).Status);
        var reader = new KvSession();
        await new KvSession().PutAsync(N0, y, "real");
        var read = reader.GetAsync(N0, y);
        Assert.False(await Eventually.IsStillPendingAfter(read, TimeSpan.FromSeconds(5)), "a read of y never waits for a forged write");
        Assert.Equal("real", (await read).Value);
    }

    [Fact]
    public async Task An_oversized_value_is_refused_with_413_and_an_oversized_body_before_it_is_read()
    {
        var before = await N0.GetStringAsync("/admin/digest");
        var big = new string('a', 1024 * 1024 + 1);
        using (var response = await N0.PutAsync($"/data/{_p}big", new StringContent($"{{\"value\":\"{big}\"}}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("error", await response.Content.ReadAsStringAsync());
        }
        var huge = new string('a', 4 * 1024 * 1024);
        using (var response = await N0.PutAsync($"/data/{_p}big", new StringContent($"{{\"value\":\"{huge}\"}}", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var longKey = new string('k', 1025);
        using (var response = await N0.PutAsync($"/data/{longKey}", new StringContent("{\"value\":\"v\"}", Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, await N0.GetStringAsync("/admin/digest"));
    }

    [Fact]
    public async Task Metadata_in_the_header_is_honoured_and_a_broken_header_is_refused()
    {
        var s = new KvSession();
        await s.PutAsync(N0, _p + "h", "v");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/data/{_p}h");
        request.Headers.Add("X-Causal-Metadata", s.Metadata!.ToJsonString());
        using var response = await N1.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var broken = new HttpRequestMessage(HttpMethod.Get, $"/data/{_p}h");
        broken.Headers.Add("X-Causal-Metadata", "{not json");
        using var refused = await N1.SendAsync(broken);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    public static TheoryData<string, string> BadViews => new()
    {
        { "not JSON", "{\"view\": " },
        { "no view", "{}" },
        { "empty shard", "{\"view\": {\"s\": []}}" },
        { "duplicate id", "{\"view\": {\"a\": [{\"address\": \"127.0.0.1:1\", \"id\": 0}], \"b\": [{\"address\": \"127.0.0.1:2\", \"id\": 0}]}}" },
        { "bad address", "{\"view\": {\"a\": [{\"address\": \"nohostport\", \"id\": 0}]}}" },
        { "id not a number", "{\"view\": {\"a\": [{\"address\": \"127.0.0.1:1\", \"id\": \"zero\"}]}}" },
    };

    [Theory]
    [MemberData(nameof(BadViews))]
    public async Task A_malformed_view_is_refused_and_the_view_stays(string what, string body)
    {
        using var admin = cluster.App.CreateHttpClient("node0");
        admin.DefaultRequestHeaders.Add("X-CausalKv-Key", cluster.App.ClusterKey);
        var before = await admin.GetStringAsync("/view");
        using var response = await admin.PutAsync("/view", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrWhiteSpace(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]?.GetValue<string>()), what);
        Assert.Equal(before, await admin.GetStringAsync("/view"));
    }

    [Fact]
    public async Task Cluster_endpoints_demand_the_cluster_key()
    {
        using var response = await N0.PutAsync("/view", new StringContent("{\"view\":{}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var gossip = await N0.PostAsync("/internal/gossip", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, gossip.StatusCode);
        using var faults = await N0.PutAsync("/admin/faults", new StringContent("{\"blocked\":[1]}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, faults.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await N0.GetAsync("/ping")).StatusCode);
    }
}
