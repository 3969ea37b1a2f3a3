using System.Net;

namespace CausalKv.Client;

/// <summary>
/// The replica did not receive a write the session depends on before its causal-wait deadline (a 503 carrying the
/// node's message). Nothing is wrong with the request: the replica is probably cut off from the one that accepted the
/// write. Retrying later, or on another replica, may succeed; the session is unchanged.
/// </summary>
public sealed class CausalWaitTimeoutException(string message, HttpStatusCode statusCode)
    : CausalKvException(message, statusCode);
