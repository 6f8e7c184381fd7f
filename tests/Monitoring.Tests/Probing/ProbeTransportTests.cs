using Monitoring.Probing;
using Monitoring.Servers;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Probing;

/// <summary>
/// Real servers that the SDK's defaults do not suit: one that speaks only the 2024-11-05 HTTP+SSE transport, one that
/// answers server/discover with HTTP 500 but the initialize handshake correctly. Both are healthy, with their tools.
/// </summary>
public sealed class ProbeTransportTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    [Fact]
    public async Task An_sse_only_server_is_reached_over_sse_and_the_next_probe_goes_straight_there()
    {
        await using var sse = await TestMcpServer.StartAsync(TestMcpServer.Kind.SseOnly, "sse-mcp");
        await using var session = new ProbeSession();
        var server = ProbeFixture.Server(sse.Endpoint);

        var first = await fixture.Prober.ProbeAsync(server, session, null, CancellationToken.None);
        Assert.True(first.Outcome == CheckOutcome.Ok, first.Error);
        Assert.Equal(ProbeTransport.Sse, first.Era!.Transport);
        Assert.EndsWith("/mcp/sse", first.Era.Endpoint);
        Assert.Equal("ping", first.LivenessMethod);
        Assert.Equal(["search", "work"], first.Tools!);

        // A new session (a new activation) that remembers the era asks nothing over Streamable HTTP.
        await using var fresh = new ProbeSession();
        lock (sse.McpRequests) sse.McpRequests.Clear();
        var again = await fixture.Prober.ProbeAsync(server, fresh, first.Era, CancellationToken.None);
        Assert.Equal(CheckOutcome.Ok, again.Outcome);
        lock (sse.McpRequests) Assert.DoesNotContain(sse.McpRequests, r => r.Path == "/mcp");
    }

    [Fact]
    public async Task A_server_whose_server_discover_fails_is_probed_with_the_initialize_handshake()
    {
        await using var quirky = await TestMcpServer.StartAsync(TestMcpServer.Kind.DiscoverFails, "quirky-mcp");
        await using var session = new ProbeSession();
        var result = await fixture.Prober.ProbeAsync(ProbeFixture.Server(quirky.Endpoint), session, null, CancellationToken.None);

        Assert.True(result.Outcome == CheckOutcome.Ok, result.Error);
        Assert.Equal(TestMcpServer.LegacyRevision, result.ProtocolVersion);
        Assert.Equal("ping", result.LivenessMethod);
        Assert.Equal(ProbeTransport.StreamableHttp, result.Era!.Transport);
        Assert.Equal(["search", "work"], result.Tools!);
    }

    [Fact]
    public async Task A_pinned_protocol_version_is_used_as_it_is_with_no_fallback()
    {
        static McpServer Pinned(string endpoint, string version) =>
            ProbeFixture.Server(endpoint) is var s ? s with { Probe = s.Probe with { ProtocolVersion = version } } : null!;
        await using (var session = new ProbeSession())
        {
            var result = await fixture.Prober.ProbeAsync(Pinned(fixture.Legacy.Endpoint, TestMcpServer.LegacyRevision), session, null, CancellationToken.None);
            Assert.True(result.Outcome == CheckOutcome.Ok, result.Error);
            Assert.Equal(TestMcpServer.LegacyRevision, result.ProtocolVersion);
        }
        await using (var session = new ProbeSession())
        {
            // The server speaks only 2025-06-18: a pin to another revision fails, and says so, rather than negotiating.
            var result = await fixture.Prober.ProbeAsync(Pinned(fixture.Legacy.Endpoint, "2025-03-26"), session, null, CancellationToken.None);
            Assert.Equal(CheckOutcome.ProtocolError, result.Outcome);
            Assert.Contains("2025-03-26", result.Error);
        }
    }

    [Fact]
    public async Task An_endpoint_that_speaks_no_mcp_says_what_was_tried()
    {
        await using var session = new ProbeSession();
        // The raw server answers 404 to everything it does not know.
        var result = await fixture.Prober.ProbeAsync(ProbeFixture.Server(fixture.Raw.Url("/nothing-here")), session, null, CancellationToken.None);
        Assert.Equal(CheckOutcome.HttpError, result.Outcome);
        Assert.Contains("HTTP 404", result.Error);
        Assert.Contains("streamable-http", result.Error);
        Assert.Contains("sse", result.Error);
    }
}
