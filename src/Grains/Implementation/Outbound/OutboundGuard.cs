using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Monitoring.Outbound;

/// <summary>
/// Where this product may connect to: webhooks, Slack, SMTP, probes, scrapes and health reads all go through the
/// guard, checked when the connection is made (after DNS, so a name that changes to a private address is caught).
/// Bound from "Outbound".
/// </summary>
public sealed class OutboundOptions
{
    public const string Section = "Outbound";

    /// <summary>Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). Monitored MCP servers usually live there.</summary>
    public bool AllowPrivate { get; set; } = true;

    /// <summary>Loopback (127/8, ::1). The embedded mode allows it, production does not unless set.</summary>
    public bool? AllowLoopback { get; set; }

    /// <summary>Hosts (exact names) or address ranges (CIDR) always allowed, even link-local ones.</summary>
    public List<string> Allow { get; set; } = [];

    /// <summary>Hosts (exact names) or address ranges (CIDR) always denied.</summary>
    public List<string> Deny { get; set; } = [];

    /// <summary>Redirects an HTTP request may follow; each target is checked like the first.</summary>
    public int MaxRedirects { get; set; } = 3;
}

/// <summary>A connection the outbound policy refused; the message says which address and why.</summary>
public sealed class OutboundBlockedException(string message) : IOException(message);

public static class Blocked
{
    public static OutboundBlockedException? Find(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is OutboundBlockedException blocked) return blocked;
        }
        return null;
    }
}

public sealed class OutboundGuard(IOptions<OutboundOptions> options)
{
    private static readonly IPNetwork[] LinkLocal =
    [
        IPNetwork.Parse("169.254.0.0/16"), // cloud metadata (169.254.169.254) lives here
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fd00:ec2::254/128"), // AWS metadata over IPv6
    ];

    private static readonly IPNetwork[] Private =
    [
        IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("fc00::/7"),
    ];

    private static readonly IPNetwork[] Unroutable = [IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("::/128"), IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("ff00::/8")];

    private OutboundOptions O => options.Value;

    /// <summary>Null when the address may be connected to; otherwise why not.</summary>
    public string? Refusal(string host, IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (Matches(O.Deny, host, address)) return $"{Describe(host, address)} is on the outbound deny list";
        if (Matches(O.Allow, host, address)) return null;
        if (Unroutable.Any(n => n.Contains(address))) return $"{Describe(host, address)} is not a routable address";
        if (LinkLocal.Any(n => n.Contains(address))) return $"{Describe(host, address)} is link-local (cloud metadata lives there)";
        if (IPAddress.IsLoopback(address) && !(O.AllowLoopback ?? false)) return $"{Describe(host, address)} is loopback";
        if (Private.Any(n => n.Contains(address)) && !O.AllowPrivate) return $"{Describe(host, address)} is in a private range";
        return null;
    }

    /// <summary>
    /// Why a configured URL or host can never be connected to, judged when it is written: the same policy on a literal
    /// address in any spelling a client would accept (169.254.169.254, 0xa9fea9fe, [::ffff:169.254.169.254], with or
    /// without user info). Null for names, which are checked at connect time, and for allowed addresses.
    /// </summary>
    public string? LiteralRefusal(string urlOrHost)
    {
        IPAddress? address = null;
        if (Uri.TryCreate(urlOrHost, UriKind.Absolute, out var url) && url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            IPAddress.TryParse(url.IdnHost, out address);
        }
        else if (!urlOrHost.Contains('/'))
        {
            IPAddress.TryParse(urlOrHost.Trim('[', ']'), out address);
        }
        return address is null ? null : Refusal(address.ToString(), address);
    }

    /// <summary>Resolves the host and connects to the first address the policy allows; refuses when none is.</summary>
    public async Task<Socket> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var refusals = new List<string>();
        foreach (var address in addresses)
        {
            if (Refusal(host, address) is { } refusal)
            {
                refusals.Add(refusal);
                continue;
            }
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new OutboundBlockedException($"blocked by the outbound policy: {(refusals.Count > 0 ? string.Join("; ", refusals) : $"{host} has no address")}");
    }

    /// <summary>A handler for HttpClient: every connection (redirects included) is checked, at most MaxRedirects followed.</summary>
    public SocketsHttpHandler Handler(bool followRedirects) => new()
    {
        AllowAutoRedirect = followRedirects && O.MaxRedirects > 0,
        MaxAutomaticRedirections = Math.Max(1, O.MaxRedirects),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        MaxConnectionsPerServer = 64,
        ConnectCallback = async (context, cancellationToken) =>
            new NetworkStream(await ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken), ownsSocket: true),
    };

    private static bool Matches(List<string> entries, string host, IPAddress address) => entries.Any(entry =>
        string.Equals(entry, host, StringComparison.OrdinalIgnoreCase)
        || (IPNetwork.TryParse(entry, out var network) && network.Contains(address))
        || (IPAddress.TryParse(entry, out var single) && single.Equals(address)));

    private static string Describe(string host, IPAddress address) =>
        host == address.ToString() || host.Trim('[', ']') == address.ToString() ? address.ToString() : $"{host} ({address})";
}
