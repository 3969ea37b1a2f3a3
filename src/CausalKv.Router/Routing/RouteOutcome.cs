namespace CausalKv.Router.Routing;

/// <summary>What is left to tell the client after routing: nothing (a replica answered, or the client left), or an error.</summary>
internal readonly record struct RouteOutcome(int Status, string? Error)
{
    public static readonly RouteOutcome Answered = new(0, null);

    public static RouteOutcome Fail(int status, string error) => new(status, error);
}
