using System.Net;

namespace CausalKv.Client;

/// <summary>
/// No replica of the key's shard could be reached: every one the client tried failed to connect (or the router or node
/// that forwarded the request reported the same). Nothing was applied.
/// </summary>
public sealed class CausalKvShardUnreachableException : CausalKvException
{
    /// <summary>Creates the exception for <paramref name="shard"/> (null when unknown, e.g. through a router).</summary>
    public CausalKvShardUnreachableException(string message, string? shard, IReadOnlyList<string> tried, Exception? innerException = null,
        HttpStatusCode? statusCode = null)
        : base(message, statusCode, innerException)
    {
        Shard = shard;
        Tried = tried;
    }

    /// <summary>The shard whose replicas could not be reached, when the client knows it.</summary>
    public string? Shard { get; }

    /// <summary>The addresses tried, in order.</summary>
    public IReadOnlyList<string> Tried { get; }
}
