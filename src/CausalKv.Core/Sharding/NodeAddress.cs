using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CausalKv.Sharding;

/// <summary>
/// A node's address in a view: a plain <c>host:port</c> that nodes, the router and clients put after <c>http://</c>.
/// The host is a DNS name (letters, digits, '-' and '_' in dot-separated labels), an IPv4 address in dotted decimal
/// without leading zeros, or an IPv6 address in brackets (no zone); the port is 1-65535 in decimal without leading
/// zeros. Anything else (<c>/</c>, <c>?</c>, <c>@</c>, <c>#</c>, spaces, a user name, a path) is refused.
/// Two addresses are the same endpoint when their <see cref="Identities"/> meet: host names compare without case,
/// IP addresses by value (an IPv4-mapped IPv6 address is its IPv4 address), and <c>localhost</c> is the loopback.
/// </summary>
public static class NodeAddress
{
    private const int MaxHostLength = 253;

    /// <summary>Why <paramref name="address"/> is not a plain <c>host:port</c>, or null when it is.</summary>
    public static string? Error(string? address) => TryRead(address, out _, out _, out var error) ? null : error;

    /// <summary>
    /// The canonical names of the endpoint (<c>host:port</c>, host lower-case or the IP address's own spelling): one,
    /// or for <c>localhost</c> both loopback addresses. Two valid addresses are one node's when any of these agree.
    /// </summary>
    public static IReadOnlyList<string> Identities(string address)
    {
        if (!TryRead(address, out var host, out var port, out var error)) throw new ArgumentException(error, nameof(address));
        var p = port.ToString(CultureInfo.InvariantCulture);
        return host == "localhost" ? [$"127.0.0.1:{p}", $"[::1]:{p}", $"localhost:{p}"] : [$"{host}:{p}"];
    }

    private static bool TryRead(string? address, out string host, out int port, out string? error)
    {
        host = "";
        port = 0;
        if (string.IsNullOrEmpty(address))
        {
            error = "address must not be empty";
            return false;
        }
        var colon = address.LastIndexOf(':');
        if (colon < 0)
        {
            error = $"address '{address}' must be host:port";
            return false;
        }
        var hostPart = address.AsSpan(0, colon);
        var portPart = address.AsSpan(colon + 1);
        if (hostPart.IsEmpty)
        {
            error = $"address '{address}' has an empty host";
            return false;
        }
        if (portPart.IsEmpty || portPart.Length > 5 || portPart.IndexOfAnyExceptInRange('0', '9') >= 0 || portPart[0] == '0'
            || !int.TryParse(portPart, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
        {
            error = $"address '{address}' has an invalid port (must be 1-65535, in decimal)";
            return false;
        }
        if (hostPart[0] == '[')
        {
            if (hostPart[^1] != ']' || hostPart.Contains('%') || !IPAddress.TryParse(hostPart[1..^1], out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"address '{address}' has an invalid host: an IPv6 address goes in brackets, without a zone ([::1]:8080)";
                return false;
            }
            host = v6.IsIPv4MappedToIPv6 ? v6.MapToIPv4().ToString() : $"[{v6}]";
            error = null;
            return true;
        }
        if (!IsHostName(hostPart))
        {
            error = $"address '{address}' has an invalid host: use a host name, an IPv4 address or a bracketed IPv6 address, followed by :port and nothing else";
            return false;
        }
        var lastLabel = hostPart[(hostPart.LastIndexOf('.') + 1)..];
        if (lastLabel.IndexOfAnyExceptInRange('0', '9') < 0)
        {
            // A host ending in a number is read as an IPv4 address by resolvers and URL parsers (127.1, 0177.0.0.1, 2130706433):
            // only the one spelling that means the same to all of them is accepted.
            if (!IPAddress.TryParse(hostPart, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || !hostPart.SequenceEqual(v4.ToString()))
            {
                error = $"address '{address}' has an invalid host: an IPv4 address is four decimal numbers 0-255 without leading zeros";
                return false;
            }
            host = v4.ToString();
            error = null;
            return true;
        }
        host = hostPart.ToString().ToLowerInvariant();
        error = null;
        return true;
    }

    /// <summary>Dot-separated labels of 1-63 letters, digits, '-' or '_', not starting or ending with '-'.</summary>
    private static bool IsHostName(ReadOnlySpan<char> host)
    {
        if (host.Length > MaxHostLength) return false;
        foreach (var range in host.Split('.'))
        {
            var label = host[range];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_')) return false;
        }
        return true;
    }
}
