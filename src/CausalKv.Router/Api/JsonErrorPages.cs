namespace CausalKv.Router.Api;

/// <summary>Gives the errors ASP.NET Core answers by itself (404 no such route, 405 wrong method, ...) the JSON body every error has.</summary>
internal static class JsonErrorPages
{
    public static WebApplication UseJsonErrorPages(this WebApplication app)
    {
        app.UseStatusCodePages(context =>
        {
            var http = context.HttpContext;
            return JsonResponses.ErrorAsync(http.Response, http.Response.StatusCode,
                $"{http.Request.Method} {http.Request.Path} answered {http.Response.StatusCode} {ReasonPhrase(http.Response.StatusCode)}: the router serves /data/{{key}} (GET, PUT, DELETE), GET /data, GET and PUT /view, /ping, /health and /alive.");
        });
        return app;
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
