namespace CausalKv.Node.Api;

/// <summary>Gives the errors ASP.NET Core answers by itself (404 no such route, 405 wrong method, ...) the JSON body every error has.</summary>
internal static class JsonErrorPages
{
    public static WebApplication UseJsonErrorPages(this WebApplication app)
    {
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            var status = http.Response.StatusCode;
            return JsonResponses.ErrorAsync(http.Response, status,
                $"{http.Request.Method} {http.Request.Path} answered {status} {Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status)}: " +
                "a node serves /data/{key} (GET, PUT, DELETE), GET /data, GET and PUT /view, GET /admin/status, /ping, /health and /alive.");
        });
        return app;
    }
}
