using System.Diagnostics;
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

    internal async ValueTask ResetAsync()
    {
        var client = Client;
        Client = null;
        Fingerprint = null;
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
/// Probes one MCP server over Streamable HTTP with the official SDK. The client negotiates the era (ProtocolVersion left
/// null): legacy revisions (2024-11-05 … 2025-11-25) answer <c>ping</c>; 2026-07-28 and later answer <c>server/discover</c>.
/// Then <c>tools/list</c>. Every failure comes back classified, never thrown.
/// </summary>
public sealed class McpProber(IHttpClientFactory httpClients, TimeProvider time)
{
    public const string HttpClientName = "mcp-probe";
    private const string FirstStatelessRevision = "2026-07-28";

    private static readonly Implementation ClientInfo = new() { Name = "mcp-alerting-probe", Version = "1.0" };

    public async Task<ProbeResult> ProbeAsync(McpServer server, ProbeSession session, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(server.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            return Failed(CheckOutcome.InvalidTarget, null, "the endpoint is not an absolute http(s) URL", 0, false);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(server.Probe.Timeout);
        var started = Stopwatch.GetTimestamp();
        var fingerprint = Fingerprint(server);
        var reused = false;
        try
        {
            if (session.Client is not null && session.Fingerprint == fingerprint)
            {
                reused = true;
                try
                {
                    return await RunAsync(session.Client, true, timeout.Token);
                }
                catch (Exception) when (!timeout.IsCancellationRequested)
                {
                    // The server may have forgotten the session (a restart answers 404): initialize again, once.
                    reused = false;
                }
            }
            await session.ResetAsync();
            session.Client = await ConnectAsync(server, endpoint, timeout.Token);
            session.Fingerprint = fingerprint;
            return await RunAsync(session.Client, false, timeout.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            await session.ResetAsync();
            var (outcome, status, message) = CheckFailures.Classify(e, timeout.IsCancellationRequested);
            return Failed(outcome, status, message, Stopwatch.GetElapsedTime(started).TotalSeconds, reused);
        }
    }

    private async Task<McpClient> ConnectAsync(McpServer server, Uri endpoint, CancellationToken cancellationToken)
    {
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = endpoint,
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = server.Probe.Headers,
                ConnectionTimeout = server.Probe.Timeout,
                OwnsSession = true,
            },
            httpClients.CreateClient(HttpClientName),
            NullLoggerFactory.Instance, // the SDK's logs could carry headers; probes report through their result instead
            ownsHttpClient: true);
        return await McpClient.CreateAsync(
            transport,
            new McpClientOptions { ClientInfo = ClientInfo, InitializationTimeout = server.Probe.Timeout },
            NullLoggerFactory.Instance,
            cancellationToken);
    }

    private async Task<ProbeResult> RunAsync(McpClient client, bool reused, CancellationToken cancellationToken)
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
            stateless ? RequestMethods.ServerDiscover : RequestMethods.Ping);
    }

    private ProbeResult Failed(CheckOutcome outcome, int? status, string message, double seconds, bool reused) =>
        new(time.GetUtcNow(), outcome, seconds, null, null, null, null, status, message, reused, null);

    private static string Fingerprint(McpServer server) =>
        server.Endpoint + "\n" + JsonSerializer.Serialize(server.Probe.Headers.OrderBy(h => h.Key, StringComparer.Ordinal));
}
