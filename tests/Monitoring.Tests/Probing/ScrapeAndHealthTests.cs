using Monitoring.Probing;
using Monitoring.Servers;

namespace Monitoring.Tests.Probing;

public sealed class ScrapeAndHealthTests(ProbeFixture fixture) : IClassFixture<ProbeFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Scrapes_the_seed_families_from_a_real_server()
    {
        fixture.Legacy.Cpu.Set(37);
        fixture.Legacy.Memory.Set(123456789);
        fixture.Legacy.Connections.WithLabels("http").Set(4);
        fixture.Legacy.Duration.WithLabels("tools/call", "http").Observe(0.02);

        var result = await fixture.Scraper.ScrapeAsync(fixture.Legacy.MetricsUrl, Timeout, CancellationToken.None);

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
        Assert.Equal(200, result.HttpStatus);
        Assert.True(result.Samples > 0);
        var counters = result.Counters!;
        Assert.Equal(37, counters.CpuUsagePercent);
        Assert.Equal(123456789, counters.MemoryUsageBytes);
        Assert.Equal(4, counters.ActiveConnections);
        Assert.Equal("mcp_request_duration_seconds", counters.DurationFamily);
        Assert.Equal(10, counters.BucketBounds.Length); // nine bounds and +Inf
    }

    [Theory]
    [InlineData("/garbage", CheckOutcome.ProtocolError, "Prometheus text format")]
    [InlineData("/html", CheckOutcome.ProtocolError, "HTML")]
    [InlineData("/huge", CheckOutcome.TooLarge, "limit")]
    [InlineData("/unauthorized", CheckOutcome.Unauthorized, "401")]
    [InlineData("/error", CheckOutcome.HttpError, "500")]
    public async Task Bad_metrics_endpoints_are_classified(string path, CheckOutcome outcome, string message)
    {
        var result = await fixture.Scraper.ScrapeAsync(fixture.Raw.Url(path), Timeout, CancellationToken.None);

        Assert.Equal(outcome, result.Outcome);
        Assert.Contains(message, result.Error);
        Assert.Null(result.Counters);
    }

    [Theory]
    [InlineData("healthy", HealthState.Healthy, 200)]
    [InlineData("degraded", HealthState.Degraded, 200)]
    [InlineData("unhealthy", HealthState.Unhealthy, 503)]
    public async Task Reads_the_seed_health_report(string reported, HealthState expected, int status)
    {
        await using var server = await Support.TestMcpServer.StartAsync(legacy: false);
        server.HealthStatus = reported;

        var result = await fixture.HealthReader.ReadAsync(server.HealthUrl, Timeout, CancellationToken.None);

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
        Assert.Equal(expected, result.Reported);
        Assert.Equal(status, result.HttpStatus);
        if (expected == HealthState.Healthy) Assert.Empty(result.FailingChecks);
        else Assert.Equal([$"system_resources: {reported} (High CPU usage: 97.0%)"], result.FailingChecks);
    }

    [Theory]
    [InlineData("/html", CheckOutcome.ProtocolError)]
    [InlineData("/not-json", CheckOutcome.ProtocolError)]
    [InlineData("/forbidden", CheckOutcome.Unauthorized)]
    [InlineData("/huge", CheckOutcome.TooLarge)]
    public async Task Bad_health_endpoints_are_classified(string path, CheckOutcome outcome)
    {
        var result = await fixture.HealthReader.ReadAsync(fixture.Raw.Url(path), Timeout, CancellationToken.None);

        Assert.Equal(outcome, result.Outcome);
        Assert.Equal(HealthState.Unknown, result.Reported);
    }

    [Fact]
    public void A_503_without_a_report_is_unhealthy_and_a_report_without_status_is_refused()
    {
        Assert.Equal(HealthState.Unhealthy, HealthReportReader.Parse("Service Unavailable", unavailable: true).Reported);
        Assert.Equal(HealthState.Unhealthy, HealthReportReader.Parse("""{"status":"healthy"}""", unavailable: true).Reported);
        Assert.Throws<UnexpectedReplyException>(() => HealthReportReader.Parse("""{"state":"fine"}""", unavailable: false));
        Assert.Throws<UnexpectedReplyException>(() => HealthReportReader.Parse(new string('[', 100), unavailable: false));
    }
}
