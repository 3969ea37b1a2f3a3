using CausalKv.Node.Api;
using CausalKv.Node.Causality;
using CausalKv.Node.Cluster;
using CausalKv.Node.Configuration;
using CausalKv.Node.Replication;
using CausalKv.Node.Storage;
using CausalKv.Node.Telemetry;

namespace CausalKv.Node.Hosting;

/// <summary>
/// The node's protocol (replication, gossip, handoff, view changes, the fence, the read gate, what a data request is
/// answered with and where it is forwarded) as one set of services,
/// registered and started the same way by the node and by anything else that runs it (a simulation). The caller
/// provides what differs between them: the <see cref="TimeProvider"/>, <see cref="NodeIdentity"/>, the
/// <see cref="ReplicaStore"/> over its storage, the <see cref="MembershipFile"/>, the <see cref="IPeerTransport"/>,
/// the host's lifetime, logging, metrics and <see cref="NodeOptions"/>.
/// </summary>
public static class NodeProtocol
{
    public static IServiceCollection AddNodeProtocol(this IServiceCollection services)
    {
        services.AddSingleton<NodeTelemetry>();
        services.AddSingleton<ClusterState>();
        services.AddSingleton<ReplicationCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<ReplicationCoordinator>());
        services.AddSingleton<HandoffFence>();
        services.AddSingleton<Handoff>();
        services.AddSingleton<ViewChanger>();
        services.AddSingleton<StrayKeySweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<StrayKeySweeper>());
        services.AddSingleton<CausalWaiter>();
        services.AddSingleton<ReadGate>();
        services.AddSingleton<PeerEndpoints>();
        services.AddSingleton<ReplicaRotation>();
        services.AddSingleton<DataRequests>();
        return services;
    }

    /// <summary>
    /// At start, before any request and before the hosted services start: a new incarnation of the store, and the
    /// view, fence, catch-up and owed handoff the node had when it stopped (see <see cref="MembershipFile"/>).
    /// </summary>
    /// <param name="lostState">the store holds less than it did: the node catches up with its peers before answering reads</param>
    public static MembershipRecord ResumeNodeProtocol(this IServiceProvider services, bool lostState)
    {
        var identity = services.GetRequiredService<NodeIdentity>();
        var store = services.GetRequiredService<ReplicaStore>();
        var membership = services.GetRequiredService<MembershipFile>();
        var remembered = membership.Load();
        membership.SaveIncarnation(store.StartIncarnation(identity.NodeId, remembered.Incarnation));
        // A node that stopped in the middle of a view change picks it up where it was.
        services.GetRequiredService<ViewChanger>().Resume(remembered, lostState);
        return remembered;
    }
}
