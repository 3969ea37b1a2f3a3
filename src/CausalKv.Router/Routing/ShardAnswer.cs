namespace CausalKv.Router.Routing;

/// <summary>One shard's answer to <c>GET /data</c>: its HTTP status and its JSON body.</summary>
internal sealed record ShardAnswer(string Shard, int Status, byte[] Body);
