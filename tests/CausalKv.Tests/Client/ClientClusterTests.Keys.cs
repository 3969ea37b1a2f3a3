using CausalKv.Client;
using CausalKv.Tests.Protocol;
using FsCheck.Fluent;

namespace CausalKv.Tests.Client;

public sealed partial class ClientClusterTests
{
    [Theory]
    [InlineData(CausalKvRouting.Direct)]
    [InlineData(CausalKvRouting.ViaRouter)]
    public async Task Keys_that_urls_give_a_meaning_to_are_stored_byte_for_byte_through_the_client(CausalKvRouting routing)
    {
        var (client, _) = Client(routing);
        var session = new CausalKvSession();
        var keys = KeyGenerators.DotKeys.Select(k => $"{routing}{_p}{k}")
            .Concat(KeyGenerators.Key.Sample(40, 20).Select(k => _p + k))
            .Distinct(StringComparer.Ordinal).ToList();
        foreach (var (key, i) in keys.Select((k, i) => (k, i))) await client.PutAsync(session, key, $"v{i}");
        // Read back in a fresh session on the other path: each key holds exactly its own value.
        var (other, _) = Client(routing == CausalKvRouting.Direct ? CausalKvRouting.ViaRouter : CausalKvRouting.Direct);
        foreach (var (key, i) in keys.Select((k, i) => (k, i)))
            Assert.Equal($"v{i}", await other.GetAsync(session, key));
    }
}
