using System.Text.Json.Serialization;

namespace CausalKv.Router.Cluster;

/// <summary>The cluster page's JSON: the cluster picture it shows (camelCase, as the nodes write). The nodes' statuses it is made from are read with <see cref="CausalKv.Protocol.NodeStatusJsonContext"/>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ClusterPicture))]
internal sealed partial class ClusterPageJsonContext : JsonSerializerContext;
