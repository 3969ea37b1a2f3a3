using System.Text.Json;

namespace CausalKv.Router.Discovery;

/// <summary>One node's answer to a broadcast <c>PUT /view</c>; 502/504 with a router-written error body when it could not be reached or did not answer.</summary>
internal sealed record NodeReply(int Id, string Address, int Status, JsonElement Body);
