namespace CausalKv.Node.Faults;

/// <summary>
/// Makes a request to a cut node behave like a connect attempt whose packets are
/// dropped: it hangs for the connect timeout, then fails the way a real timeout does.
/// </summary>
internal sealed class FaultInjectingHandler(FaultInjector faults, TimeSpan connectTimeout) : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<int> TargetNode = new("causalkv.target-node");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Options.TryGetValue(TargetNode, out var target) && faults.IsBlocked(target))
        {
            await Task.Delay(connectTimeout, cancellationToken);
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"Connection to node {target} timed out (link cut by fault injection).");
        }
        return await base.SendAsync(request, cancellationToken);
    }
}
