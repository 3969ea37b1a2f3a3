using System.Text.Json;
using CausalKv.Cli;
using CausalKv.Tests.Distributed;

namespace CausalKv.Tests.Client;

/// <summary>ckv end to end against the client tests' cluster: a session kept in a file between commands, tables, JSON and exit codes.</summary>
public sealed partial class ClientClusterTests
{
    private async Task<(int Code, string Output, string Error)> CkvAsync(string session, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var environment = new Dictionary<string, string> { [Ckv.UrlVariable] = App.Endpoint("router").ToString(), [Ckv.SessionVariable] = session };
        var code = await Ckv.RunAsync(args, output, error, name => environment.GetValueOrDefault(name));
        output.Flush();
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Ckv_keeps_its_session_in_a_file_so_successive_commands_are_causally_ordered()
    {
        var file = Path.Combine(Path.GetTempPath(), $"ckv-{_p}session");
        try
        {
            var x = KeysOf("shard0", 1, "cli")[0];
            await App.CutAsync(0, 1);
            Assert.Equal(ExitCodes.Ok, (await CkvAsync(file, "put", x, "hello from the shell", "--url", App.Endpoint("node0").ToString())).Code);
            Assert.True(File.Exists(file));
            // The next command, on the replica that lacks the write, waits for it rather than answering "not found".
            var read = CkvAsync(file, "get", x, "--url", App.Endpoint("node1").ToString());
            Assert.True(await Eventually.IsStillPendingAfter(read, Grace), "ckv get waits for the write the session saw");
            await App.HealAsync(0, 1);
            var (code, output, _) = await read.WaitAsync(AfterHeal);
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Equal("hello from the shell", output.TrimEnd());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Ckv_ls_lists_the_keys_of_a_prefix_up_to_a_limit()
    {
        var file = Path.Combine(Path.GetTempPath(), $"ckv-{_p}session");
        try
        {
            foreach (var i in Enumerable.Range(0, 12)) Assert.Equal(ExitCodes.Ok, (await CkvAsync(file, "put", $"{_p}ls:{i:D2}", $"v{i}")).Code);
            Assert.Equal(ExitCodes.Ok, (await CkvAsync(file, "put", $"{_p}other", "not listed")).Code);
            var all = JsonDocument.Parse((await CkvAsync(file, "ls", "--prefix", $"{_p}ls:", "--json")).Output).RootElement.GetProperty("items");
            Assert.Equal(Enumerable.Range(0, 12).Select(i => $"{_p}ls:{i:D2}"), all.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
            var some = await CkvAsync(file, "ls", "--prefix", $"{_p}ls:", "--limit", "5");
            Assert.Equal(ExitCodes.Ok, some.Code);
            Assert.Equal(5, some.Output.Split('\n').Count(l => l.StartsWith($"{_p}ls:", StringComparison.Ordinal)));
            Assert.Contains("5 key(s)", some.Output);
            Assert.Equal(ExitCodes.Usage, (await CkvAsync(file, "ls", "--limit", "0")).Code);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Ckv_tells_not_found_from_errors_and_prints_tables_and_json()
    {
        var file = Path.Combine(Path.GetTempPath(), $"ckv-{_p}session");
        try
        {
            var missing = await CkvAsync(file, "get", $"{_p}nothing");
            Assert.Equal(ExitCodes.NotFound, missing.Code);
            Assert.Contains("does not exist", missing.Error);
            Assert.Equal(ExitCodes.NotFound, (await CkvAsync(file, "del", $"{_p}nothing")).Code);
            var refused = await CkvAsync(file, "put", new string('k', 1025), "v");
            Assert.Equal(ExitCodes.Refused, refused.Code);
            Assert.Contains("1024", refused.Error);
            Assert.Equal(ExitCodes.Unreachable, (await CkvAsync(file, "get", "k", "--url", "http://127.0.0.1:9")).Code);
            Assert.Equal(ExitCodes.Usage, (await CkvAsync(file, "get")).Code);

            Assert.Equal(ExitCodes.Ok, (await CkvAsync(file, "put", $"{_p}a", "first value")).Code);
            Assert.Equal(ExitCodes.Ok, (await CkvAsync(file, "put", $"{_p}b", "second", "--direct")).Code);
            var ls = await CkvAsync(file, "ls");
            Assert.Equal(ExitCodes.Ok, ls.Code);
            Assert.StartsWith("KEY", ls.Output);
            Assert.Matches($"(?m)^{_p}a +first value$", ls.Output);
            var lsJson = JsonDocument.Parse((await CkvAsync(file, "ls", "--json")).Output).RootElement;
            Assert.Equal("second", lsJson.GetProperty("items").GetProperty($"{_p}b").GetString());
            var get = JsonDocument.Parse((await CkvAsync(file, "get", $"{_p}a", "--json")).Output).RootElement;
            Assert.True(get.GetProperty("found").GetBoolean());
            Assert.Equal("first value", get.GetProperty("value").GetString());
            Assert.Equal(ExitCodes.Ok, (await CkvAsync(file, "del", $"{_p}a")).Code);
            Assert.Equal(ExitCodes.NotFound, (await CkvAsync(file, "get", $"{_p}a")).Code);

            var view = await CkvAsync(file, "view");
            Assert.Equal(ExitCodes.Ok, view.Code);
            Assert.Contains($"epoch {App.Epoch}", view.Output);
            foreach (var node in App.Nodes) Assert.Matches($"(?m)^shard[01] +{node.Id} +{node.Address}$", view.Output);
            var status = await CkvAsync(file, "status", "--json");
            Assert.Equal(ExitCodes.Ok, status.Code);
            var nodes = JsonDocument.Parse(status.Output).RootElement.GetProperty("nodes");
            Assert.Equal(App.Nodes.Select(n => n.Id).Order(), nodes.EnumerateArray().Select(n => n.GetProperty("id").GetInt32()).Order());
            Assert.All(nodes.EnumerateArray(), n => Assert.Equal(n.GetProperty("shard").GetString(), n.GetProperty("status").GetProperty("shard").GetString()));
            var table = await CkvAsync(file, "status");
            Assert.Contains("CAUGHT-UP", table.Output);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
