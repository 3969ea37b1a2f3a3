namespace CausalKv.Sharding;

/// <summary>What a node does with a key it holds after a view change (see <see cref="HandoffPlan.DispositionOf"/>).</summary>
public enum KeyMove
{
    /// <summary>Its shard owns the key and its peers hold it already.</summary>
    Keep,

    /// <summary>Its new shard owns the key but only this node held it: it spreads as this node's write.</summary>
    Adopt,

    /// <summary>Another shard owns the key now: hand it off there.</summary>
    HandOff,
}

/// <summary>A key's <see cref="KeyMove"/>, and for a handoff the shard that owns the key now.</summary>
public readonly record struct KeyDisposition(KeyMove Move, string? TargetShard)
{
    public static KeyDisposition Keep => new(KeyMove.Keep, null);

    public static KeyDisposition Adopt => new(KeyMove.Adopt, null);

    public static KeyDisposition HandOffTo(string shard) => new(KeyMove.HandOff, shard);
}
