namespace CausalKv.Router.Routing;

/// <summary>How much <c>GET /data</c> without paging answers for the whole cluster (<c>CausalKv:MaxUnpagedItems</c>, <c>MaxUnpagedBytes</c>).</summary>
internal sealed record UnpagedCaps(int Items, long Bytes)
{
    public string Refusal =>
        $"The cluster holds more than GET /data answers at once ({Items} keys or {Bytes} bytes of keys and values, "
        + "CausalKv:MaxUnpagedItems and CausalKv:MaxUnpagedBytes): page through it with GET /data?limit=N (at most "
        + $"{CausalKv.Paging.PageQuery.MaxLimit}), then ?cursor= the next-cursor of each answer until it is null.";
}
