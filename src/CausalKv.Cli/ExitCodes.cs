namespace CausalKv.Cli;

/// <summary>What <c>ckv</c> exits with, so that scripts can tell "not there" from "something went wrong".</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command line was wrong (System.CommandLine's own code for a parse error).</summary>
    public const int Usage = 1;

    /// <summary>The key does not exist (get, del).</summary>
    public const int NotFound = 3;

    /// <summary>The store refused the request (4xx): its message is printed.</summary>
    public const int Refused = 4;

    /// <summary>The replica did not receive a write the session depends on in time: retry later.</summary>
    public const int CausalWaitTimeout = 5;

    /// <summary>No node or router could be reached, or a shard had no reachable replica.</summary>
    public const int Unreachable = 6;

    /// <summary>Any other failure.</summary>
    public const int Failed = 7;
}
