using System.Data.Common;
using CausalKv.Client;

namespace CausalKv.Client.Aspire;

/// <summary>
/// Reads a CausalKv connection string: <c>Endpoints=http://a:1,http://b:2;Routing=ViaRouter</c> (keys in any case and
/// order, <c>Routing</c> optional), or just one URL.
/// </summary>
public static class CausalKvConnectionString
{
    /// <summary>The endpoints and routing <paramref name="connectionString"/> names; false with <paramref name="error"/> saying why not.</summary>
    public static bool TryParse(string connectionString, out IReadOnlyList<Uri> endpoints, out CausalKvRouting? routing, out string? error)
    {
        endpoints = [];
        routing = null;
        error = null;
        var text = connectionString.Trim();
        if (Uri.TryCreate(text, UriKind.Absolute, out var single) && single.Scheme is "http" or "https")
        {
            endpoints = [single];
            return true;
        }
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException e)
        {
            error = $"the connection string is not 'Endpoints=http://host:port,...' nor a URL ({e.Message}).";
            return false;
        }
        var list = new List<Uri>();
        foreach (string key in builder.Keys)
        {
            var value = builder[key]?.ToString() ?? "";
            if (key.Equals("Endpoints", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    {
                        error = $"the endpoint '{part}' in the connection string is not an http(s) URL.";
                        return false;
                    }
                    list.Add(uri);
                }
            }
            else if (key.Equals("Routing", StringComparison.OrdinalIgnoreCase))
            {
                if (!Enum.TryParse<CausalKvRouting>(value, ignoreCase: true, out var r) || !Enum.IsDefined(r))
                {
                    error = $"the connection string's Routing '{value}' is neither {CausalKvRouting.Direct} nor {CausalKvRouting.ViaRouter}.";
                    return false;
                }
                routing = r;
            }
            else
            {
                error = $"the connection string has an unknown key '{key}' (known: Endpoints, Routing).";
                return false;
            }
        }
        if (list.Count == 0)
        {
            error = "the connection string names no endpoint (Endpoints=http://host:port,...).";
            return false;
        }
        endpoints = list;
        return true;
    }
}
