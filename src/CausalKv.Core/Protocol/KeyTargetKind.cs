namespace CausalKv.Protocol;

/// <summary>What a raw request target says about a key (<see cref="KeyPath.Parse"/>).</summary>
public enum KeyTargetKind
{
    /// <summary>Not a <c>/data/{key}</c> target: routed as any other request.</summary>
    NotKey,

    /// <summary>A <c>/data/{key}</c> target whose key decoded, byte for byte.</summary>
    Key,

    /// <summary>A <c>/data/...</c> target whose key is not one segment of percent-encoded UTF-8: a 400.</summary>
    Invalid,
}
