using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>
/// The MCP client a server grain keeps between probes, so servers that issue sessions are not re-initialized every 15 s.
/// One probe at a time uses it.
/// </summary>
public sealed class ProbeSession : IAsyncDisposable
{
    internal McpClient? Client { get; set; }

    /// <summary>The endpoint and headers the client was made for; a change starts a new session.</summary>
    internal string? Fingerprint { get; set; }

    internal ProbeEra? Era { get; set; }

    internal async ValueTask ResetAsync()
    {
        var client = Client;
        Client = null;
        Fingerprint = null;
        Era = null;
        if (client is not null)
        {
            try
            {
                await client.DisposeAsync();
            }
            catch (Exception)
            {
                // Closing a session on a server that is gone fails; there is nothing left to release.
            }
        }
    }

    public ValueTask DisposeAsync() => ResetAsync();
}

/// <summary>
/// Probes one MCP server with the official SDK, in whichever transport and protocol era the server speaks.
/// <list type="bullet">
/// <item>Transport: <c>auto</c> tries Streamable HTTP and, when the endpoint answers 400, 404 or 405 (it does not
/// speak it), the legacy HTTP+SSE transport (2024-11-05: <c>GET</c> opens the event stream, an <c>endpoint</c> event
/// names where to POST), at the endpoint and, failing that, at <c>{endpoint}/sse</c>.</item>
/// <item>Era: the client first offers 2026-07-28 (<c>server/discover</c>); when that fails for any reason but a timeout or
/// a refused connection, it falls back to the <c>initialize</c> handshake, newest revision first. A pinned
/// <c>probe.protocolVersion</c> is used as it is.</item>
/// <item>What worked is remembered (<see cref="ProbeEra"/>), so the next probe goes straight there.</item>
/// </list>
/// Liveness is <c>ping</c> in the initialize era and <c>server/discover</c> in the stateless one; then <c>tools/list</c>.
/// Every failure comes back classified, never thrown, with a message that says what was tried.
/// </summary>
public sealed class McpProber(IHttpClientFactory httpClients, TimeProvider time)
{
    public const string HttpClientName = "mcp-probe";
    private const string FirstStatelessRevision = "2026-07-28";

    /// <summary>The initialize-era revisions, newest first: the fallback tries them in this order.</summary>
    public static readonly string[] InitializeRevisions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

    private static readonly Implementation ClientInfo = new() { Name = "mcp-alerting-probe", Version = "1.0" };

    public Task<ProbeResult> ProbeAsync(McpServer server, ProbeSession session, CancellationToken cancellationToken) =>
        ProbeAsync(server, session, null, cancellationToken);

    public async Task<ProbeResult> ProbeAsync(McpServer server, ProbeSession session, ProbeEra? remembered, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(server.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            return Failed(CheckOutcome.InvalidTarget, null, "the endpoint is not an absolute http(s) URL", 0, false);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(server.Probe.Timeout);
        var started = Stopwatch.GetTimestamp();
        var fingerprint = Fingerprint(server);
        try
        {
            if (session.Client is { } client && session.Fingerprint == fingerprint)
            {
                try
                {
                    return await RunAsync(client, session.Era!, true, timeout.Token);
                }
                catch (Exception) when (!timeout.IsCancellationRequested)
                {
                    // The server may have forgotten the session (a restart answers 404): connect again, once.
                }
            }
            await session.ResetAsync();
            var (connected, era) = await ConnectAsync(server, endpoint, remembered, timeout.Token);
            session.Client = connected;
            session.Fingerprint = fingerprint;
            session.Era = era;
            return await RunAsync(connected, era, false, timeout.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            await session.ResetAsync();
            var (outcome, status, message) = e is ProbeAttemptsFailed attempts ? attempts.Classify() : CheckFailures.Classify(e, timeout.IsCancellationRequested);
            return Failed(outcome, status, message, Stopwatch.GetElapsedTime(started).TotalSeconds, false);
        }
    }

    /// <summary>Connects in the remembered way first, then in every way the settings allow, until one works.</summary>
    private async Task<(McpClient Client, ProbeEra Era)> ConnectAsync(McpServer server, Uri endpoint, ProbeEra? remembered, CancellationToken cancellationToken)
    {
        var tried = new List<(string What, Exception Error)>();
        // Streamable HTTP answered other than 400, 404 or 405: the endpoint speaks it, so SSE cannot help. It answered
        // 404 or 405: it does not, so no other era over Streamable HTTP can help either.
        var sseUseful = true;
        var streamableUseful = true;
        foreach (var (transport, url, version) in Plan(server, endpoint, remembered))
        {
            if (transport == ProbeTransport.Sse && !sseUseful || transport == ProbeTransport.StreamableHttp && !streamableUseful) continue;
            try
            {
                var client = await CreateClientAsync(server, url, transport, version, cancellationToken);
                return (client, new ProbeEra(transport, url.ToString(), client.NegotiatedProtocolVersion ?? version ?? "unknown"));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                tried.Add(($"{Name(transport)} at {url.AbsolutePath}{(version is null ? "" : $" ({version})")}", e));
                var (outcome, status, _) = CheckFailures.Classify(e, false);
                // A refused connection, a name that does not resolve, a blocked address, a TLS or auth failure: no
                // other transport or era can do better.
                if (outcome is CheckOutcome.ConnectionRefused or CheckOutcome.Dns or CheckOutcome.Blocked or CheckOutcome.Tls or CheckOutcome.Unauthorized
                    or CheckOutcome.Timeout or CheckOutcome.TooLarge)
                {
                    throw new ProbeAttemptsFailed(tried);
                }
                if (transport == ProbeTransport.StreamableHttp)
                {
                    if (status is 404 or 405) streamableUseful = false;
                    else if (status is not 400) sseUseful = false; // it answered the POST (500, HTML, garbage): not an SSE-only server
                }
            }
        }
        throw new ProbeAttemptsFailed(tried);
    }

    /// <summary>The ways to try, in order: what worked last time, then the transports and eras the settings allow.</summary>
    private static IEnumerable<(ProbeTransport Transport, Uri Url, string? Version)> Plan(McpServer server, Uri endpoint, ProbeEra? remembered)
    {
        var seen = new HashSet<(ProbeTransport, string, string?)>();
        IEnumerable<(ProbeTransport, Uri, string?)> All()
        {
            if (remembered is not null && Uri.TryCreate(remembered.Endpoint, UriKind.Absolute, out var known) && server.Probe.ProtocolVersion is null
                && (server.Probe.Transport == ProbeTransport.Auto || server.Probe.Transport == remembered.Transport))
            {
                yield return (remembered.Transport, known, remembered.ProtocolVersion);
            }
            string?[] versions = server.Probe.ProtocolVersion is { } pinned ? [pinned] : [null, .. InitializeRevisions];
            if (server.Probe.Transport is ProbeTransport.Auto or ProbeTransport.StreamableHttp)
            {
                foreach (var version in versions) yield return (ProbeTransport.StreamableHttp, endpoint, version);
            }
            if (server.Probe.Transport is ProbeTransport.Auto or ProbeTransport.Sse)
            {
                // HTTP+SSE is an initialize-era transport: no server/discover there.
                string?[] sseVersions = server.Probe.ProtocolVersion is { } p ? [p] : [null];
                foreach (var url in SseEndpoints(endpoint))
                {
                    foreach (var version in sseVersions) yield return (ProbeTransport.Sse, url, version);
                }
            }
        }
        foreach (var (transport, url, version) in All())
        {
            if (seen.Add((transport, url.ToString(), version))) yield return (transport, url, version);
        }
    }

    /// <summary>The legacy SSE endpoint is the registered one, or beside it at /sse (as MCP's ASP.NET Core host maps it).</summary>
    private static IEnumerable<Uri> SseEndpoints(Uri endpoint)
    {
        yield return endpoint;
        if (!endpoint.AbsolutePath.TrimEnd('/').EndsWith("/sse", StringComparison.OrdinalIgnoreCase))
        {
            yield return new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/sse");
        }
    }

    private async Task<McpClient> CreateClientAsync(McpServer server, Uri url, ProbeTransport transport, string? version, CancellationToken cancellationToken)
    {
        var clientTransport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = url,
                TransportMode = transport == ProbeTransport.Sse ? HttpTransportMode.Sse : HttpTransportMode.StreamableHttp,
                AdditionalHeaders = server.Probe.Headers,
                ConnectionTimeout = server.Probe.Timeout,
                OwnsSession = true,
            },
            httpClients.CreateClient(HttpClientName),
            NullLoggerFactory.Instance, // the SDK's logs could carry headers; probes report through their result instead
            ownsHttpClient: true);
        return await McpClient.CreateAsync(
            clientTransport,
            new McpClientOptions { ClientInfo = ClientInfo, InitializationTimeout = server.Probe.Timeout, ProtocolVersion = version },
            NullLoggerFactory.Instance,
            cancellationToken);
    }

    private async Task<ProbeResult> RunAsync(McpClient client, ProbeEra era, bool reused, CancellationToken cancellationToken)
    {
        var version = client.NegotiatedProtocolVersion;
        var stateless = version is not null && string.CompareOrdinal(version, FirstStatelessRevision) >= 0;
        var started = Stopwatch.GetTimestamp();
        if (stateless)
        {
            await client.SendRequestAsync<DiscoverRequestParams, DiscoverResult>(
                RequestMethods.ServerDiscover, new DiscoverRequestParams(), McpJsonUtilities.DefaultOptions, cancellationToken: cancellationToken);
        }
        else
        {
            await client.PingAsync(cancellationToken: cancellationToken);
        }
        var latency = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
        return new ProbeResult(
            time.GetUtcNow(), CheckOutcome.Ok, latency, version, client.ServerInfo?.Name, client.ServerInfo?.Version,
            [.. tools.Select(t => t.Name).Order(StringComparer.Ordinal)], null, null, reused,
            stateless ? RequestMethods.ServerDiscover : RequestMethods.Ping)
        {
            Era = era with { ProtocolVersion = version ?? era.ProtocolVersion },
        };
    }

    private ProbeResult Failed(CheckOutcome outcome, int? status, string message, double seconds, bool reused) =>
        new(time.GetUtcNow(), outcome, seconds, null, null, null, null, status, message, reused, null);

    private static string Fingerprint(McpServer server) =>
        $"{server.Endpoint}\n{server.Probe.Transport}\n{server.Probe.ProtocolVersion}\n{JsonSerializer.Serialize(server.Probe.Headers.OrderBy(h => h.Key, StringComparer.Ordinal))}";

    public static string Name(ProbeTransport transport) => transport switch
    {
        ProbeTransport.Sse => "sse",
        ProbeTransport.StreamableHttp => "streamable-http",
        _ => "auto",
    };

    /// <summary>Every way a connection was tried, and how each failed: one message that says all of it.</summary>
    private sealed class ProbeAttemptsFailed(List<(string What, Exception Error)> attempts) : Exception("every way to connect failed")
    {
        public (CheckOutcome Outcome, int? Status, string Message) Classify()
        {
            if (attempts.Count == 0) return (CheckOutcome.ProtocolError, null, "no way to connect was tried");
            var classified = attempts.Select(a => (a.What, Result: CheckFailures.Classify(a.Error, false))).ToList();
            // The first answer is the server's to the protocol it should speak; the later ones are the fallbacks'.
            var (outcome, status, first) = classified[0].Result;
            if (classified.Count == 1) return (outcome, status, first);
            // The same answer everywhere says it once: "the endpoint answered HTTP 404 to streamable-http and to sse".
            var answers = classified.GroupBy(c => c.Result.Message).ToList();
            var message = answers.Count == 1
                ? $"{first}, to {string.Join(" and to ", classified.Select(c => c.What))}"
                : string.Join("; ", classified.Select(c => $"{c.What}: {c.Result.Message}"));
            return (outcome, status, message);
        }
    }
}
