using System.Net;

namespace CausalKv.Client;

/// <summary>
/// The store refused the request (a 4xx answer other than "not found"): a key or value over the limits, metadata this
/// cluster did not issue, a malformed request. <see cref="Exception.Message"/> is the store's own <c>error</c>.
/// Sending the same request again fails the same way.
/// </summary>
public sealed class CausalKvRequestRefusedException(string message, HttpStatusCode statusCode)
    : CausalKvException(message, statusCode);
