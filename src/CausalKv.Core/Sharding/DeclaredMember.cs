namespace CausalKv.Sharding;

/// <summary>
/// A node the declaration names: its name (a host name, a service-discovery name, or a resource name) and its id in
/// views. The id is the number the name ends with (<c>kv-3</c> is node 3, as a StatefulSet names its pods) when every
/// member's name ends with a distinct number, else its position in the declaration.
/// </summary>
public sealed record DeclaredMember(string Name, int Id);
