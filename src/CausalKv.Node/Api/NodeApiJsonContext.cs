using System.Text.Json.Serialization;

namespace CausalKv.Node.Api;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(ViewDocument))]
[JsonSerializable(typeof(FaultSettings))]
[JsonSerializable(typeof(StateDigest))]
internal sealed partial class NodeApiJsonContext : JsonSerializerContext;
