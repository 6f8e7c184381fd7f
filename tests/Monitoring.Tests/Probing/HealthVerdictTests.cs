using Monitoring.Probing;
using Monitoring.Servers;

namespace Monitoring.Tests.Probing;

public sealed class HealthVerdictTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly McpServer Server = new("s", "S", "http://127.0.0.1:9/mcp", [], true, Now, Now);

    private static ProbeResult Probe(CheckOutcome outcome, string[]? tools = null, DateTimeOffset? at = null) =>
        new(at ?? Now, outcome, 0.002, "2025-06-18", "s", "1", outcome == CheckOutcome.Ok ? tools ?? ["a", "b"] : null, null,
            outcome == CheckOutcome.Ok ? null : "boom", false, "ping");

    private static HealthVerdict Combine(McpServer? server = null, ProbeResult? probe = null, ScrapeResult? scrape = null,
        HealthReportResult? report = null, DateTimeOffset? telemetry = null) =>
        HealthVerdicts.Combine(new HealthInputs(server ?? Server, Now, TimeSpan.FromSeconds(45), TimeSpan.FromMinutes(5), probe, scrape, report, telemetry));

    [Fact]
    public void Nothing_known_is_unknown_and_disabled_says_so()
    {
        Assert.Equal(HealthState.Unknown, Combine().State);
        Assert.Contains("disabled", Combine(Server with { Enabled = false }, Probe(CheckOutcome.Ok)).Reasons.Single());
    }

    [Fact]
    public void A_good_probe_is_healthy_with_what_was_seen()
    {
        var verdict = Combine(probe: Probe(CheckOutcome.Ok));

        Assert.Equal(HealthState.Healthy, verdict.State);
        Assert.Contains(verdict.Reasons, r => r.Contains("2 tools"));
    }

    [Theory]
    [InlineData(CheckOutcome.ConnectionRefused, HealthState.Unhealthy)]
    [InlineData(CheckOutcome.Timeout, HealthState.Unhealthy)]
    [InlineData(CheckOutcome.ProtocolError, HealthState.Unhealthy)]
    [InlineData(CheckOutcome.Unauthorized, HealthState.Degraded)]
    public void A_failed_probe_is_unhealthy_but_an_auth_refusal_only_degrades(CheckOutcome outcome, HealthState expected)
    {
        Assert.Equal(expected, Combine(probe: Probe(outcome)).State);
    }

    [Fact]
    public void No_tools_or_missing_expected_tools_degrade()
    {
        Assert.Equal(HealthState.Degraded, Combine(probe: Probe(CheckOutcome.Ok, tools: [])).State);
        var expecting = Server with { Probe = ProbeSettings.Default with { ExpectedTools = ["a", "z"] } };
        var verdict = Combine(expecting, Probe(CheckOutcome.Ok));
        Assert.Equal(HealthState.Degraded, verdict.State);
        Assert.Equal("expected tools are missing: z", verdict.Reasons.Single());
    }

    [Fact]
    public void The_worst_source_wins_and_every_problem_is_a_reason()
    {
        var server = Server with { MetricsUrl = "http://x/metrics", HealthUrl = "http://x/health" };
        var scrape = new ScrapeResult(Now, CheckOutcome.TooLarge, 0.1, 0, 200, "the reply is larger than the limit");
        var report = new HealthReportResult(Now, CheckOutcome.Ok, HealthState.Unhealthy, ["db: unhealthy (down)"], 503, null);

        var verdict = Combine(server, Probe(CheckOutcome.Ok), scrape, report);

        Assert.Equal(HealthState.Unhealthy, verdict.State);
        Assert.Equal(2, verdict.Reasons.Length);
        Assert.Contains(verdict.Reasons, r => r.Contains("too_large"));
        Assert.Contains(verdict.Reasons, r => r.Contains("db: unhealthy (down)"));
    }

    [Fact]
    public void Stale_checks_and_stale_telemetry_degrade()
    {
        Assert.Equal(HealthState.Degraded, Combine(probe: Probe(CheckOutcome.Ok, at: Now.AddMinutes(-2))).State);
        Assert.Equal(HealthState.Degraded, Combine(Server with { Probe = ProbeSettings.Default with { Enabled = false } }, telemetry: Now.AddMinutes(-6)).State);
        Assert.Equal(HealthState.Healthy, Combine(Server with { Probe = ProbeSettings.Default with { Enabled = false } }, telemetry: Now.AddMinutes(-1)).State);
    }

    [Fact]
    public void The_health_metric_is_absent_when_unknown()
    {
        Assert.Equal(0, HealthVerdicts.AsMetric(HealthState.Healthy));
        Assert.Equal(1, HealthVerdicts.AsMetric(HealthState.Degraded));
        Assert.Equal(2, HealthVerdicts.AsMetric(HealthState.Unhealthy));
        Assert.Null(HealthVerdicts.AsMetric(HealthState.Unknown));
    }
}
