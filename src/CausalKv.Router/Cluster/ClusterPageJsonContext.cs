using System.Text.Json.Serialization;

namespace CausalKv.Router.Cluster;

/// <summary>The cluster page's JSON, both ways: the nodes' statuses in, the cluster picture out (camelCase, as the nodes write).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ReportedNodeStatus))]
[JsonSerializable(typeof(ClusterPicture))]
internal sealed partial class ClusterPageJsonContext : JsonSerializerContext;
