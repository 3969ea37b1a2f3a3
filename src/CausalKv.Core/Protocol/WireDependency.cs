using CausalKv.Causality;

namespace CausalKv.Protocol;

/// <summary>One dependency of a <see cref="WireVersion"/>.</summary>
public sealed class WireDependency
{
    public string K { get; set; } = "";
    public long Ts { get; set; }
    public int N { get; set; }
    public long[] C { get; set; } = [];

    public static WireDependency From(KeyValuePair<string, Dependency> e) =>
        new() { K = e.Key, Ts = e.Value.Tag.Timestamp, N = e.Value.Tag.Node, C = WireVersion.Flatten(e.Value.Clock) };

    public KeyValuePair<string, Dependency> ToEntry() => new(K, new Dependency(WireVersion.Unflatten(C), new WriteTag(Ts, N)));
}
