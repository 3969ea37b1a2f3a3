using CausalKv.Causality;

namespace CausalKv.Protocol;

/// <summary>A stored version as node-to-node messages and the earlier versions' write-ahead log carry it; its clock flattened as [origin, seq, origin, seq, ...].</summary>
public sealed class WireVersion
{
    public string K { get; set; } = "";
    public string? V { get; set; }
    public long Ts { get; set; }
    public int N { get; set; }
    public long[] C { get; set; } = [];
    public List<WireDependency>? D { get; set; }

    public static WireVersion From(string key, StoredVersion v) => new()
    {
        K = key,
        V = v.Value,
        Ts = v.Tag.Timestamp,
        N = v.Tag.Node,
        C = Flatten(v.Clock),
        D = v.Dependencies.IsEmpty ? null : v.Dependencies.Entries.Select(WireDependency.From).ToList(),
    };

    public StoredVersion ToStored() => new(V, new WriteTag(Ts, N), Unflatten(C),
        D is null ? DependencySet.Empty : DependencySet.Of(D.Select(d => d.ToEntry())));

    public static long[] Flatten(VersionVector clock)
    {
        var result = new long[clock.Count * 2];
        var i = 0;
        foreach (var e in clock.Entries) { result[i++] = e.Origin; result[i++] = e.Seq; }
        return result;
    }

    public static VersionVector Unflatten(long[] flat)
    {
        if (flat.Length % 2 != 0) throw new FormatException("A clock has an odd number of numbers.");
        var entries = new VersionVector.Entry[flat.Length / 2];
        for (var i = 0; i < entries.Length; i++) entries[i] = new VersionVector.Entry(flat[2 * i], flat[2 * i + 1]);
        return VersionVector.OfOwned(entries);
    }
}
