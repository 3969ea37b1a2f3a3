using System.Text.Json.Serialization;

namespace CausalKv.Protocol;

/// <summary><c>GET /admin/status</c> on the wire: camelCase, nulls written; read whatever the case of a name.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(NodeStatusReport))]
public sealed partial class NodeStatusJsonContext : JsonSerializerContext;
