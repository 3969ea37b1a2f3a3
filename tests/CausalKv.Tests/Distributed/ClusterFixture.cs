
namespace CausalKv.Tests.Distributed;

/// <summary>
/// A running cluster shared by the tests of one class, started through the
/// AppHost's testing API. Tests use their own keys and heal every link they cut.
/// </summary>
public abstract class ClusterFixture : IAsyncLifetime
{
    private readonly Dictionary<string, HttpClient> _clients = [];

    protected abstract KvApp.Builder Configure();

    public KvApp App { get; private set; } = null!;

    public HttpClient Client(string resource)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue(resource, out var c)) _clients[resource] = c = App.CreateHttpClient(resource);
            return c;
        }
    }

    public HttpClient Node(int id) => Client($"node{id}");

    public async Task InitializeAsync() => App = await Configure().StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var c in _clients.Values) c.Dispose();
        await App.DisposeAsync();
    }
}

/// <summary>One shard of two replicas, nodes 0 and 1: the setting of consistency.md's scenarios.</summary>
[CollectionDefinition(Name)]
public sealed class ReplicaPairCollection : ICollectionFixture<ReplicaPairFixture>
{
    public const string Name = "replica pair";
}

/// <summary>The cluster the <see cref="ReplicaPairCollection"/> shares: its classes run one after the other.</summary>
public sealed class ReplicaPairFixture : ClusterFixture
{
    protected override KvApp.Builder Configure() =>
        KvApp.Create(nodes: 2, shards: 1).WithNodeSetting("CausalWaitDeadline", "00:00:20");

    public HttpClient Router => Client("router");
}
