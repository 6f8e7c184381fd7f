using Monitoring.Observability;
using Monitoring.Probing;

namespace Monitoring.Servers;

/// <summary>The server's active checks: the MCP probe, the metrics scrape and the health report, off the grain's turn.</summary>
public sealed partial class McpServerGrain
{
    private readonly ScrapeSeries _scrapes = new(options.Value.MetricWindow);
    private readonly Queue<DateTimeOffset> _toolSetChanges = new();
    private readonly ProbeSession _session = new();
    private readonly CancellationTokenSource _deactivating = new();
    private IGrainTimer? _checkTimer;
    private TimeSpan _checkInterval;
    private Task? _checksInFlight;
    private ProbeResult? _lastProbe;
    private ScrapeResult? _lastScrape;
    private HealthReportResult? _lastReport;

    /// <summary>When an active check last brought data: a failed check after it must not forget it (no data is its own age).</summary>
    private DateTimeOffset? _checkDataAt;

    public async Task<ServerStatus?> CheckNowAsync()
    {
        if (state.State.Server is null)
        {
            return null;
        }
        await StartChecks(force: true);
        return Status();
    }

    public async Task ApplyChecksAsync(ActiveCheckResult result)
    {
        if (state.State.Server is not { } server)
        {
            return;
        }
        if (result.Probe is { } probe && server.Probe.Enabled)
        {
            _lastProbe = probe;
            Telemetry.RecordProbe(probe, time.GetUtcNow());
            var write = false;
            if (probe.Outcome == CheckOutcome.Ok && probe.Era is { } era && era != state.State.ProbeEra)
            {
                state.State.ProbeEra = era;
                write = true;
            }
            if (probe.Outcome == CheckOutcome.Ok && probe.Tools is { } tools)
            {
                write |= NoteTools(tools, probe.At);
            }
            if (write) await state.WriteStateAsync();
        }
        if (result.Scrape is { } scrape && server.MetricsUrl is not null)
        {
            _lastScrape = scrape;
            if (scrape.Counters is { } counters)
            {
                _scrapes.Add(scrape.At, counters);
            }
        }
        if (result.Health is { } report && server.HealthUrl is not null)
        {
            _lastReport = report;
        }
        NoteCheckData(result);
        await EvaluateAsync();
    }

    private void NoteCheckData(ActiveCheckResult result)
    {
        DateTimeOffset?[] ok =
        [
            result.Probe is { Outcome: CheckOutcome.Ok } p ? p.At : null,
            result.Scrape is { Outcome: CheckOutcome.Ok } s ? s.At : null,
            result.Health is { Outcome: CheckOutcome.Ok } r ? r.At : null,
        ];
        if (ok.Max() is { } at && (_checkDataAt is null || at > _checkDataAt)) _checkDataAt = at;
    }

    /// <summary>What an update makes obsolete: a check of a source that is gone or changed.</summary>
    private void ForgetChecksOf(McpServer before, McpServer after)
    {
        if (before.MetricsUrl != after.MetricsUrl) _lastScrape = null;
        if (before.HealthUrl != after.HealthUrl) _lastReport = null;
        if (!after.Probe.Enabled || before.Endpoint != after.Endpoint) _lastProbe = null;
    }

    private bool NoteTools(string[] tools, DateTimeOffset at)
    {
        var known = state.State.KnownTools;
        if (known is not null && known.AsSpan().SequenceEqual(tools))
        {
            return false;
        }
        state.State.KnownTools = tools;
        if (known is not null)
        {
            var change = new ToolSetChange(at, [.. tools.Except(known, StringComparer.Ordinal)], [.. known.Except(tools, StringComparer.Ordinal)]);
            state.State.LastToolSetChange = change;
            _toolSetChanges.Enqueue(at);
            logger.LogInformation(
                "Server {ServerId} tool set changed: added {Added}, removed {Removed}",
                ServerId, string.Join(",", change.Added), string.Join(",", change.Removed));
        }
        return true;
    }

    /// <summary>Starts, restarts or stops the jittered check timer to match the registration.</summary>
    private void ScheduleChecks()
    {
        var server = state.State.Server;
        var wanted = server is { Enabled: true } && (server.Probe.Enabled || server.MetricsUrl is not null || server.HealthUrl is not null);
        if (!wanted)
        {
            _checkTimer?.Dispose();
            _checkTimer = null;
            return;
        }
        var interval = server!.Probe.Interval;
        if (_checkTimer is not null && _checkInterval == interval)
        {
            return;
        }
        _checkTimer?.Dispose();
        _checkInterval = interval;
        // Jitter spreads 10,000 servers over the interval instead of probing them all in the same second.
        var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks));
        _checkTimer = this.RegisterGrainTimer(
            _ => StartChecks(force: false),
            new GrainTimerCreationOptions(jitter, interval) { KeepAlive = true });
    }

    /// <summary>
    /// Starts a round of checks off the grain's turn: the network waits happen on the thread pool, and the result comes
    /// back as an ordinary call to <see cref="ApplyChecksAsync"/>. At most one round per server is in flight; a timer tick
    /// that finds one running is skipped, a forced check joins it.
    /// </summary>
    private Task StartChecks(bool force)
    {
        if (_checksInFlight is { IsCompleted: false } running)
        {
            if (!force) MonitoringMetrics.ChecksSkipped.Inc();
            return force ? running : Task.CompletedTask;
        }
        if (state.State.Server is not { } stored || stopping.IsStopping)
        {
            return Task.CompletedTask;
        }
        // Probe header values are sealed in state; the check round gets them in clear, in memory only.
        var server = stored.Probe.Headers.Count == 0 ? stored : stored with
        {
            Probe = stored.Probe with { Headers = stored.Probe.Headers.ToDictionary(h => h.Key, h => sealer.Unseal(h.Value), StringComparer.OrdinalIgnoreCase) },
        };
        var self = this.AsReference<IMcpServerGrain>();
        var session = _session;
        var era = state.State.ProbeEra;
        var cancelled = _deactivating.Token;
        var serverId = ServerId;
        _checksInFlight = Task.Run(async () =>
        {
            try
            {
                var result = await checks.RunAsync(server, session, era, cancelled);
                await self.ApplyChecksAsync(result);
            }
            catch (Exception e) when (cancelled.IsCancellationRequested || e is OperationCanceledException)
            {
                // The grain is deactivating; the next activation checks again.
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Checks of server {ServerId} could not be applied", serverId);
            }
        }, CancellationToken.None);
        return force ? _checksInFlight : Task.CompletedTask;
    }
}
