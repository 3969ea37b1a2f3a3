using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace CausalKv.Hosting;

/// <summary>
/// The dashboard's commands for trying the store out: cut a node from its peers and heal it, kill it (SIGKILL), and
/// add or remove a shard. Each says what it did, or why it could not run.
/// </summary>
internal static class CausalKvCommands
{
    public const string Cut = "causalkv-cut";
    public const string Heal = "causalkv-heal";
    public const string Kill = "causalkv-kill";
    public const string AddShard = "causalkv-add-shard";
    public const string RemoveShard = "causalkv-remove-shard";

    public static void AddNodeCommands<T>(IResourceBuilder<T> node, CausalKvClusterResource kv, int id) where T : IResource
    {
        node.WithCommand(Cut, "Cut from peers", context => RunAsync(context, async ct =>
            {
                EnsureRunning(kv, id);
                var peers = await kv.Control.IsolateAsync(id, ct);
                return $"{kv.Node(id).Name} is cut from {peers.Length} nodes: its writes stay local and reads that need others' writes wait.";
            }),
            new CommandOptions
            {
                Description = "Drop traffic between this node and every other node (fault injection).",
                IconName = "PlugDisconnected",
                IsHighlighted = true,
                UpdateState = c => WhenFaultsAllowed(kv, c),
            });
        node.WithCommand(Heal, "Heal links", context => RunAsync(context, async ct =>
            {
                EnsureRunning(kv, id);
                var peers = await kv.Control.RejoinAsync(id, ct);
                return peers.Length == 0 ? $"{kv.Node(id).Name} had no cut link." : $"{kv.Node(id).Name} reaches {peers.Length} nodes again; gossip brings it up to date.";
            }),
            new CommandOptions { Description = "Restore every cut link of this node.", IconName = "PlugConnected", IsHighlighted = true, UpdateState = c => WhenFaultsAllowed(kv, c) });
        node.WithCommand(Kill, "Kill (SIGKILL)", context => RunAsync(context, async ct =>
            {
                EnsureRunning(kv, id);
                var pid = await kv.Control.KillAsync(id, ct);
                return $"{kv.Node(id).Name} (pid {pid}) was killed; start it again to see it recover its log and catch up.";
            }),
            new CommandOptions
            {
                Description = "Kill the node's process at once, as a crash would: no shutdown code runs.",
                IconName = "ErrorCircle",
                ConfirmationMessage = "Kill this node with SIGKILL?",
                UpdateState = c => WhenFaultsAllowed(kv, c),
            });
    }

    public static void AddClusterCommands(IResourceBuilder<CausalKvClusterResource> kv)
    {
        kv.WithCommand(AddShard, "Add shard", context => RunAsync(context, ct => kv.Resource.Control.AddShardAsync(ct)),
            new CommandOptions
            {
                Description = "Declare spare nodes as a new shard (started when stopped); the router moves a share of the keys to it.",
                IconName = "AddSquareMultiple",
                UpdateState = WhenRunning,
            });
        kv.WithCommand(RemoveShard, "Remove shard", context => RunAsync(context, ct => kv.Resource.Control.RemoveShardAsync(ct)),
            new CommandOptions
            {
                Description = "Declare the cluster without its last shard; the router moves its keys to the others, then its nodes stop.",
                IconName = "SubtractSquareMultiple",
                ConfirmationMessage = "Remove the last shard?",
                UpdateState = WhenRunning,
            });
    }

    /// <summary>Cut, Heal and Kill exist only where fault injection was asked for (<c>WithFaultInjection()</c>).</summary>
    private static ResourceCommandState WhenFaultsAllowed(CausalKvClusterResource kv, UpdateCommandStateContext context) =>
        kv.FaultInjection ? WhenRunning(context) : ResourceCommandState.Hidden;

    private static void EnsureRunning(CausalKvClusterResource kv, int id)
    {
        if (!kv.FaultInjection)
            throw new InvalidOperationException($"Fault injection is off for {kv.Name}: declare the cluster WithFaultInjection() to cut, heal and kill nodes.");
        if (!kv.Control.IsRunning(id)) throw new InvalidOperationException($"{kv.Node(id).Name} is not running: start it first.");
    }

    private static ResourceCommandState WhenRunning(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static async Task<ExecuteCommandResult> RunAsync(ExecuteCommandContext context, Func<CancellationToken, Task<string>> action)
    {
        try
        {
            var message = await action(context.CancellationToken);
            return CommandResults.Success(message);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or ArgumentException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            return CommandResults.Failure(e.Message);
        }
    }
}
