using Microsoft.Extensions.Options;
using Monitoring.Servers;
using Monitoring.Observability;

namespace Monitoring.Probing;

/// <summary>
/// Runs one round of a server's active checks (probe, scrape, health report, concurrently) within the silo's bound on
/// concurrent rounds. A round waits for a slot before its timeouts start, so a queue never turns into timeouts.
/// </summary>
public sealed class ServerChecks(McpProber prober, MetricsScraper scraper, HealthReportReader healthReader, IOptions<ProbingOptions> options)
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentChecks);

    public int InFlight => options.Value.MaxConcurrentChecks - _slots.CurrentCount;

    public async Task<ActiveCheckResult> RunAsync(McpServer server, ProbeSession session, ProbeEra? era, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            var probe = server.Probe.Enabled ? prober.ProbeAsync(server, session, era, cancellationToken) : Task.FromResult<ProbeResult?>(null)!;
            var scrape = server.MetricsUrl is { } metricsUrl
                ? scraper.ScrapeAsync(metricsUrl, server.Probe.Timeout, cancellationToken)
                : Task.FromResult<ScrapeResult>(null!);
            var health = server.HealthUrl is { } healthUrl
                ? healthReader.ReadAsync(healthUrl, server.Probe.Timeout, cancellationToken)
                : Task.FromResult<HealthReportResult>(null!);
            await Task.WhenAll(probe, scrape, health);
            var result = new ActiveCheckResult(probe.Result, scrape.Result, health.Result);
            Record(result);
            return result;
        }
        finally
        {
            _slots.Release();
        }
    }

    private static void Record(ActiveCheckResult result)
    {
        if (result.Probe is { } probe)
        {
            MonitoringMetrics.Probes.WithLabels(Label(probe.Outcome)).Inc();
            MonitoringMetrics.ProbeLatency.WithLabels(Label(probe.Outcome)).Observe(probe.LatencySeconds);
        }
        if (result.Scrape is { } scrape) MonitoringMetrics.Scrapes.WithLabels(Label(scrape.Outcome)).Inc();
        if (result.Health is { } health) MonitoringMetrics.HealthReads.WithLabels(Label(health.Outcome)).Inc();
    }

    public static string Label(CheckOutcome outcome) => outcome.Label();
}
