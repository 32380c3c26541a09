using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace PeerAgent.Core.Hosting;

/// <summary>A parsed <c>http://host:port</c> listen URL; a null address means every interface.</summary>
public readonly record struct ListenEndpoint(IPAddress? Address, int Port)
{
    public bool IsLoopback => Address is not null && IPAddress.IsLoopback(Address);

    public static bool TryParse(string? url, [NotNullWhen(false)] out string? error, out ListenEndpoint endpoint) =>
        TryParse(url, allowHttps: false, out error, out endpoint);

    /// <param name="allowHttps">Accept <c>https://</c> too, for a listener that may speak TLS; whether it does is the caller's decision.</param>
    public static bool TryParse(string? url, bool allowHttps, [NotNullWhen(false)] out string? error, out ListenEndpoint endpoint)
    {
        endpoint = default;
        if (string.IsNullOrWhiteSpace(url))
        {
            error = "is empty";
            return false;
        }

        // Uri rejects "*" and "+" as hosts, so map them to the any-address first.
        var normalized = url.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal)
            .Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
        if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && !(allowHttps && uri.Scheme == Uri.UriSchemeHttps)))
        {
            error = allowHttps ? $"'{url}' is not an http(s)://host:port URL" : $"'{url}' is not an http://host:port URL";
            return false;
        }

        if (uri.AbsolutePath != "/" || !string.IsNullOrEmpty(uri.Query))
        {
            error = $"'{url}' must not have a path";
            return false;
        }

        var portText = normalized[(normalized.LastIndexOf(':') + 1)..].TrimEnd('/');
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            error = $"'{url}' needs an explicit port (0 picks a free one)";
            return false;
        }

        IPAddress? address;
        if (uri.Host == "localhost")
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.Host, out address))
        {
            error = $"'{url}' must name an IP address, localhost or *";
            return false;
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            address = null;
        }

        endpoint = new ListenEndpoint(address, port);
        error = null;
        return true;
    }
}
