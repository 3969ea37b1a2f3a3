using CausalKv.Protocol;
using CausalKv.Sharding;

namespace CausalKv.Router.Cluster;

/// <summary>What the router knows of one node of its view at one moment: its own health verdicts and the node's status, if it answered.</summary>
/// <param name="Healthy">The router's last active probe of the node (<c>GET /health</c>) answered 200.</param>
/// <param name="Routable">The router would send requests to the node now (healthy and no recent failed forward).</param>
/// <param name="Status">Null when the node did not answer in time; <paramref name="Error"/> then says why.</param>
internal sealed record NodeObservation(ViewNode Node, bool Healthy, bool Routable, NodeStatusReport? Status, string? Error);
