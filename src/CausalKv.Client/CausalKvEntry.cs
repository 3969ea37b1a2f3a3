namespace CausalKv.Client;

/// <summary>What a read found: <see cref="Found"/> is false when the key does not exist (or was deleted).</summary>
public readonly record struct CausalKvEntry<T>(bool Found, T? Value);
