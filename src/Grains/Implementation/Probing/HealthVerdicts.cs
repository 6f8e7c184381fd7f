using System.Globalization;
using Monitoring.Servers;

namespace Monitoring.Probing;

/// <summary>What the health verdict of one server is computed from.</summary>
public sealed record HealthInputs(
    McpServer Server,
    DateTimeOffset Now,
    TimeSpan StaleAfter,
    TimeSpan MetricWindow,
    ProbeResult? Probe,
    ScrapeResult? Scrape,
    HealthReportResult? Report,
    DateTimeOffset? LastTelemetryAt)
{
    /// <summary>The error rate the rules see (pushed or scraped), if there is one.</summary>
    public double? ErrorRate { get; init; }

    /// <summary>Requests pushed within the window.</summary>
    public long Requests { get; init; }
}

/// <summary>
/// One verdict from every source: reachability and liveness (the probe), the tool list, scrape freshness, pushed telemetry
/// and the server's own report. The worst source wins; every source that is not healthy gives a reason.
/// </summary>
public static class HealthVerdicts
{
    /// <summary>The seed's error-rate threshold: above it a server is degraded.</summary>
    public const double DegradedErrorRate = 0.05;

    /// <summary>At or above half its requests failing, a server is unhealthy whatever else answers.</summary>
    public const double UnhealthyErrorRate = 0.5;

    public static HealthVerdict Combine(HealthInputs inputs)
    {
        var server = inputs.Server;
        if (!server.Enabled)
        {
            return HealthVerdict.Unknown("monitoring is disabled for this server");
        }
        var state = HealthState.Unknown;
        var problems = new List<string>();
        var fine = new List<string>();

        void Note(HealthState found, string reason)
        {
            state = state == HealthState.Unknown ? found : (HealthState)Math.Max((int)state, (int)found);
            (found == HealthState.Healthy ? fine : problems).Add(reason);
        }

        if (server.Probe.Enabled && inputs.Probe is { } probe)
        {
            if (probe.Outcome == CheckOutcome.Ok)
            {
                Note(HealthState.Healthy, $"MCP {probe.LivenessMethod} answered in {Milliseconds(probe.LatencySeconds)} ({probe.ProtocolVersion})");
                var tools = probe.Tools ?? [];
                if (tools.Length == 0)
                {
                    Note(HealthState.Degraded, "the server lists no tools");
                }
                else
                {
                    var missing = server.Probe.ExpectedTools.Except(tools, StringComparer.Ordinal).ToArray();
                    if (missing.Length > 0)
                    {
                        Note(HealthState.Degraded, $"expected tools are missing: {string.Join(", ", missing)}");
                    }
                    else
                    {
                        Note(HealthState.Healthy, $"{tools.Length} tools listed");
                    }
                }
            }
            else if (probe.Outcome == CheckOutcome.Unauthorized)
            {
                Note(HealthState.Degraded, $"probe not authorized: {probe.Error}");
            }
            else
            {
                Note(HealthState.Unhealthy, $"probe failed ({ServerChecks.Label(probe.Outcome)}): {probe.Error}");
            }
            if (inputs.Now - probe.At > inputs.StaleAfter)
            {
                Note(HealthState.Degraded, $"the last probe is {Age(inputs.Now - probe.At)} old");
            }
        }

        if (server.MetricsUrl is not null && inputs.Scrape is { } scrape)
        {
            if (scrape.Outcome == CheckOutcome.Ok)
            {
                Note(HealthState.Healthy, $"metrics scraped ({scrape.Samples} samples)");
            }
            else
            {
                Note(HealthState.Degraded, $"metrics scrape failed ({ServerChecks.Label(scrape.Outcome)}): {scrape.Error}");
            }
            if (inputs.Now - scrape.At > inputs.StaleAfter)
            {
                Note(HealthState.Degraded, $"the last scrape is {Age(inputs.Now - scrape.At)} old");
            }
        }

        if (server.HealthUrl is not null && inputs.Report is { } report)
        {
            if (report.Outcome != CheckOutcome.Ok)
            {
                Note(HealthState.Degraded, $"health endpoint failed ({ServerChecks.Label(report.Outcome)}): {report.Error}");
            }
            else
            {
                var checks = report.FailingChecks.Length == 0 ? "" : $": {string.Join("; ", report.FailingChecks)}";
                Note(report.Reported == HealthState.Unknown ? HealthState.Degraded : report.Reported,
                    $"the server reports itself {report.Reported.ToString().ToLowerInvariant()}{checks}");
            }
        }

        if (inputs.LastTelemetryAt is { } pushed)
        {
            var age = inputs.Now - pushed;
            if (age > inputs.MetricWindow)
            {
                Note(HealthState.Degraded, $"no telemetry pushed for {Age(age)}");
            }
            else
            {
                Note(HealthState.Healthy, "telemetry is arriving");
            }
        }

        // Arriving is not working: what the requests say counts too.
        if (inputs.ErrorRate is { } errorRate)
        {
            var share = Percent(errorRate);
            if (errorRate >= UnhealthyErrorRate) Note(HealthState.Unhealthy, $"{share} of requests fail");
            else if (errorRate > DegradedErrorRate) Note(HealthState.Degraded, $"{share} of requests fail");
            else Note(HealthState.Healthy, $"{share} of requests fail");
        }

        if (state == HealthState.Unknown)
        {
            return HealthVerdict.Unknown("no probe, scrape, health report or telemetry yet");
        }
        return new HealthVerdict(state, state == HealthState.Healthy ? [.. fine] : [.. problems]);
    }

    /// <summary>The <c>health</c> metric: 0 healthy, 1 degraded, 2 unhealthy; none when unknown.</summary>
    public static double? AsMetric(HealthState state) => state switch
    {
        HealthState.Healthy => 0,
        HealthState.Degraded => 1,
        HealthState.Unhealthy => 2,
        _ => null,
    };

    private static string Percent(double ratio) => (ratio * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    private static string Milliseconds(double seconds) => (seconds * 1000).ToString("0.#", CultureInfo.InvariantCulture) + " ms";

    private static string Age(TimeSpan age) => Monitoring.Common.Durations.Format(TimeSpan.FromSeconds(Math.Floor(age.TotalSeconds)));
}
