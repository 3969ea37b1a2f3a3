namespace CausalKv.Router.Routing;

/// <summary>The router's answer to <c>GET /data</c>: status and JSON body.</summary>
internal sealed record MergedAnswer(int Status, byte[] Body);
