using System.Net;

namespace CausalKv.Client;

/// <summary>
/// A request the store did not carry out. The subclasses tell the cases a caller handles differently: a read that
/// waited too long for a write it depends on, a request the store refused, a shard with no reachable replica.
/// </summary>
public class CausalKvException : Exception
{
    /// <summary>Creates the exception with the store's message.</summary>
    public CausalKvException(string message, HttpStatusCode? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
    }

    /// <summary>The status of the answer that failed, when there was one.</summary>
    public HttpStatusCode? StatusCode { get; }
}
