namespace CausalKv.Node.Api;

/// <summary>The data API routes of api.md; the handlers live in <see cref="DataEndpoints"/>.</summary>
public static class DataApi
{
    public static IEndpointRouteBuilder MapDataApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/data/{key}", (HttpContext c, string key, DataEndpoints h) => h.GetAsync(c, key));
        app.MapPut("/data/{key}", (HttpContext c, string key, DataEndpoints h) => h.PutAsync(c, key));
        app.MapDelete("/data/{key}", (HttpContext c, string key, DataEndpoints h) => h.DeleteAsync(c, key));
        app.MapGet("/data", (HttpContext c, DataEndpoints h) => h.GetAllAsync(c));
        return app;
    }
}
