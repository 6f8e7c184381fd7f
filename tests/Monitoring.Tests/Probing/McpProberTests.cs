using Monitoring.Probing;
using Monitoring.Servers;
using Monitoring.Tests.Support;

namespace Monitoring.Tests.Probing;

public sealed class McpProberTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    [Fact]
    public async Task Legacy_server_is_pinged_over_an_initialized_session_that_is_reused()
    {
        await using var session = new ProbeSession();
        var server = ProbeFixture.Server(fixture.Legacy.Endpoint);

        var first = await fixture.Prober.ProbeAsync(server, session, CancellationToken.None);
        var second = await fixture.Prober.ProbeAsync(server, session, CancellationToken.None);

        Assert.Equal(CheckOutcome.Ok, first.Outcome);
        Assert.Equal(TestMcpServer.LegacyRevision, first.ProtocolVersion);
        Assert.Equal("ping", first.LivenessMethod);
        Assert.Equal("legacy-mcp", first.ServerName);
        Assert.Equal("1.2.3", first.ServerVersion);
        Assert.Equal(["search", "work"], first.Tools!);
        Assert.True(first.LatencySeconds > 0);
        Assert.False(first.SessionReused);
        Assert.Equal(CheckOutcome.Ok, second.Outcome);
        Assert.True(second.SessionReused);
        lock (fixture.Legacy.McpRequests)
        {
            Assert.Contains(fixture.Legacy.McpRequests, r => r.SessionId is not null);
        }
    }

    [Fact]
    public async Task Modern_server_is_asked_server_discover_without_a_session()
    {
        await using var session = new ProbeSession();
        var server = ProbeFixture.Server(fixture.Modern.Endpoint);

        var result = await fixture.Prober.ProbeAsync(server, session, CancellationToken.None);

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
        Assert.Equal("2026-07-28", result.ProtocolVersion);
        Assert.Equal("server/discover", result.LivenessMethod);
        Assert.Equal("modern-mcp", result.ServerName);
        Assert.Equal(["search", "work"], result.Tools!);
        lock (fixture.Modern.McpRequests)
        {
            Assert.All(fixture.Modern.McpRequests, r => Assert.Null(r.SessionId));
        }
    }

    [Fact]
    public async Task A_server_that_forgot_the_session_is_initialized_again()
    {
        await using var legacy = await TestMcpServer.StartAsync(legacy: true);
        await using var session = new ProbeSession();
        var server = ProbeFixture.Server(legacy.Endpoint);
        Assert.Equal(CheckOutcome.Ok, (await fixture.Prober.ProbeAsync(server, session, CancellationToken.None)).Outcome);

        await legacy.StopAsync();
        var down = await fixture.Prober.ProbeAsync(server, session, CancellationToken.None);
        await legacy.StartAsync(); // same port, no memory of the old session
        var back = await fixture.Prober.ProbeAsync(server, session, CancellationToken.None);

        Assert.Equal(CheckOutcome.ConnectionRefused, down.Outcome);
        Assert.False(down.Up);
        Assert.Equal(CheckOutcome.Ok, back.Outcome);
        Assert.False(back.SessionReused);
    }

    [Fact]
    public async Task Restarted_server_answers_the_old_session_with_404_and_the_prober_initializes_again()
    {
        await using var legacy = await TestMcpServer.StartAsync(legacy: true);
        await using var session = new ProbeSession();
        var server = ProbeFixture.Server(legacy.Endpoint);
        Assert.Equal(CheckOutcome.Ok, (await fixture.Prober.ProbeAsync(server, session, CancellationToken.None)).Outcome);

        await legacy.StopAsync();
        await legacy.StartAsync();
        var result = await fixture.Prober.ProbeAsync(server, session, CancellationToken.None);

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
        Assert.False(result.SessionReused);
    }

    [Fact]
    public async Task Configured_headers_are_sent_and_a_refusal_is_an_auth_problem_not_down()
    {
        await using var guarded = await TestMcpServer.StartAsync(legacy: false);
        guarded.RequiredToken = "s3cret-token";
        await using var session = new ProbeSession();

        var refused = await fixture.Prober.ProbeAsync(ProbeFixture.Server(guarded.Endpoint), session, CancellationToken.None);
        var allowed = await fixture.Prober.ProbeAsync(
            ProbeFixture.Server(guarded.Endpoint, headers: new() { ["Authorization"] = "Bearer s3cret-token" }), session, CancellationToken.None);

        Assert.Equal(CheckOutcome.Unauthorized, refused.Outcome);
        Assert.Equal(401, refused.HttpStatus);
        Assert.DoesNotContain("s3cret", refused.Error);
        Assert.Equal(CheckOutcome.Ok, allowed.Outcome);
        lock (guarded.McpRequests)
        {
            Assert.Contains(guarded.McpRequests, r => r.Authorization == "Bearer s3cret-token");
        }
    }

    [Theory]
    [InlineData("/html", CheckOutcome.ProtocolError)]
    [InlineData("/huge-json", CheckOutcome.TooLarge)]
    [InlineData("/huge", CheckOutcome.ProtocolError)]
    [InlineData("/forbidden", CheckOutcome.Unauthorized)]
    [InlineData("/error", CheckOutcome.HttpError)]
    [InlineData("/not-json", CheckOutcome.ProtocolError)]
    public async Task Replies_that_are_not_MCP_are_classified(string path, CheckOutcome expected)
    {
        await using var session = new ProbeSession();

        var result = await fixture.Prober.ProbeAsync(ProbeFixture.Server(fixture.Raw.Url(path)), session, CancellationToken.None);

        Assert.Equal(expected, result.Outcome);
        Assert.False(result.Up);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
    }

    [Fact]
    public async Task Network_failures_are_classified()
    {
        await using var session = new ProbeSession();
        var stopped = await TestMcpServer.StartAsync(legacy: false);
        var refusedEndpoint = stopped.Endpoint;
        await stopped.StopAsync();

        var refused = await fixture.Prober.ProbeAsync(ProbeFixture.Server(refusedEndpoint), session, CancellationToken.None);
        var dns = await fixture.Prober.ProbeAsync(ProbeFixture.Server("http://no-such-server.invalid/mcp"), session, CancellationToken.None);
        var tls = await fixture.Prober.ProbeAsync(ProbeFixture.Server($"https://127.0.0.1:{fixture.Modern.Port}/mcp"), session, CancellationToken.None);
        var invalid = await fixture.Prober.ProbeAsync(ProbeFixture.Server("ftp://127.0.0.1/mcp"), session, CancellationToken.None);

        Assert.Equal(CheckOutcome.ConnectionRefused, refused.Outcome);
        Assert.Equal(CheckOutcome.Dns, dns.Outcome);
        Assert.Equal(CheckOutcome.Tls, tls.Outcome);
        Assert.Equal(CheckOutcome.InvalidTarget, invalid.Outcome);
    }

    [Fact]
    public async Task A_hanging_server_times_out()
    {
        await using var session = new ProbeSession();

        var result = await fixture.Prober.ProbeAsync(
            ProbeFixture.Server(fixture.Raw.Url("/hang"), timeout: TimeSpan.FromMilliseconds(300)), session, CancellationToken.None);

        Assert.Equal(CheckOutcome.Timeout, result.Outcome);
    }
}
