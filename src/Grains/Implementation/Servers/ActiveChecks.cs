using Monitoring.Observability;
using Monitoring.Probing;
using Monitoring.Rules.Conditions;
using Monitoring.Settings;

namespace Monitoring.Servers;

/// <summary>
/// A server's active checks: the MCP probe, the metrics scrape and the health report, in rounds on a jittered timer,
/// run off the grain's turn (the network waits happen on the thread pool; the result comes back as an ordinary call to
/// <see cref="IMcpServerGrain.ApplyChecksAsync"/>). It keeps what the checks last found and, with the pushed telemetry,
/// assesses the server: the metrics rules see and the health verdict.
/// </summary>
internal sealed class ActiveChecks(
    IGrainBase grain,
    IMcpServerGrain self,
    string serverId,
    Func<McpServerState> state,
    ServerChecks checks,
    Security.SecretSealer sealer,
    SiloStopping stopping,
    MonitoringOptions options,
    ProbingOptions probing,
    ILogger logger)
{
    private readonly ScrapeSeries _scrapes = new(options.MetricWindow);
    private readonly Queue<DateTimeOffset> _toolSetChanges = new();
    private readonly ProbeSession _session = new();
    private readonly CancellationTokenSource _deactivating = new();
    private IGrainTimer? _timer;
    private TimeSpan _interval;
    private Task? _inFlight;

    /// <summary>When an active check last brought data: a failed check after it must not forget it (no data is its own age).</summary>
    private DateTimeOffset? _dataAt;

    public ProbeResult? LastProbe { get; private set; }
    public ScrapeResult? LastScrape { get; private set; }
    public HealthReportResult? LastReport { get; private set; }
    private McpServerState S => state();

    /// <summary>Takes a round's results for the sources the server still has; answers whether the server's stored state changed (its protocol era, its tools).</summary>
    public bool Take(ActiveCheckResult result, McpServer server, ServerTelemetry telemetry, DateTimeOffset now)
    {
        var write = false;
        if (result.Probe is { } probe && server.Probe.Enabled)
        {
            LastProbe = probe;
            telemetry.RecordProbe(probe, now);
            if (probe.Outcome == CheckOutcome.Ok && probe.Era is { } era && era != S.ProbeEra)
            {
                S.ProbeEra = era;
                write = true;
            }
            if (probe.Outcome == CheckOutcome.Ok && probe.Tools is { } tools) write |= NoteTools(tools, probe.At);
        }
        if (result.Scrape is { } scrape && server.MetricsUrl is not null)
        {
            LastScrape = scrape;
            if (scrape.Counters is { } counters) _scrapes.Add(scrape.At, counters);
        }
        if (result.Health is { } report && server.HealthUrl is not null) LastReport = report;
        DateTimeOffset?[] ok =
        [
            result.Probe is { Outcome: CheckOutcome.Ok } p ? p.At : null,
            result.Scrape is { Outcome: CheckOutcome.Ok } s ? s.At : null,
            result.Health is { Outcome: CheckOutcome.Ok } r ? r.At : null,
        ];
        if (ok.Max() is { } at && (_dataAt is null || at > _dataAt)) _dataAt = at;
        return write;
    }

    /// <summary>What an update makes obsolete: a check of a source that is gone or changed.</summary>
    public void Forget(McpServer before, McpServer after)
    {
        if (before.MetricsUrl != after.MetricsUrl) LastScrape = null;
        if (before.HealthUrl != after.HealthUrl) LastReport = null;
        if (!after.Probe.Enabled || before.Endpoint != after.Endpoint) LastProbe = null;
    }

    /// <summary>
    /// The metrics rules see, and the health verdict. Pushed telemetry wins for the metrics it provides; a scraped
    /// server fills in the rest. Active checks add <c>up</c>, probe latency, the tool count and changes, and the age of
    /// the newest data (<paramref name="since"/> when nothing came yet); the verdict, computed from all of them, adds <c>health</c>.
    /// </summary>
    public (Dictionary<string, double> Metrics, HealthVerdict Verdict) Assess(McpServer server, MetricWindow window, WindowSnapshot snapshot, DateTimeOffset since, DateTimeOffset now)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        _scrapes.AddMetrics(now, metrics);
        var pushing = window.LastRecordedAt is { } pushedAt && pushedAt > now - options.MetricWindow;
        if (pushing || metrics.Count == 0) snapshot.AddTo(metrics);
        if (LastProbe is { } probe)
        {
            metrics[MetricNames.Up] = probe.Up ? 1 : 0;
            if (probe.Up) metrics[MetricNames.ProbeLatencySeconds] = probe.LatencySeconds;
        }
        else if (!server.Probe.Enabled && LastScrape is { } scrape)
        {
            metrics[MetricNames.Up] = scrape.Outcome == CheckOutcome.Ok ? 1 : 0;
        }
        if (S.KnownTools is { } tools) metrics[MetricNames.ToolCount] = tools.Length;
        while (_toolSetChanges.TryPeek(out var changedAt) && changedAt <= now - options.MetricWindow) _toolSetChanges.Dequeue();
        metrics[MetricNames.ToolSetChanges] = _toolSetChanges.Count;
        var newest = new[] { _dataAt, window.LastRecordedAt }.Max() ?? since;
        metrics[MetricNames.DataAgeSeconds] = Math.Max(0, (now - newest).TotalSeconds);

        var verdict = HealthVerdicts.Combine(new HealthInputs(
            server, now, server.Probe.Interval * probing.StaleAfterIntervals, options.MetricWindow, LastProbe, LastScrape, LastReport, window.LastRecordedAt)
        {
            ErrorRate = metrics.TryGetValue(MetricNames.ErrorRate, out var errorRate) ? errorRate : null,
            Requests = snapshot.RequestsInWindow,
        });
        if (HealthVerdicts.AsMetric(verdict.State) is { } health) metrics[MetricNames.Health] = health;
        return (metrics, verdict);
    }

    /// <summary>Starts, restarts or stops the jittered check timer to match the registration.</summary>
    public void Schedule()
    {
        var server = S.Server;
        var wanted = server is { Enabled: true } && (server.Probe.Enabled || server.MetricsUrl is not null || server.HealthUrl is not null);
        if (!wanted)
        {
            _timer?.Dispose();
            _timer = null;
            return;
        }
        var interval = server!.Probe.Interval;
        if (_timer is not null && _interval == interval) return;
        _timer?.Dispose();
        _interval = interval;
        // Jitter spreads 10,000 servers over the interval instead of probing them all in the same second.
        var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks));
        _timer = grain.RegisterGrainTimer(_ => Start(force: false), new GrainTimerCreationOptions(jitter, interval) { KeepAlive = true });
    }

    /// <summary>
    /// Starts a round of checks off the grain's turn. At most one round per server is in flight; a timer tick that
    /// finds one running is skipped, a forced check joins it (and is answered when its results are applied).
    /// </summary>
    public Task Start(bool force)
    {
        if (_inFlight is { IsCompleted: false } running)
        {
            if (!force) MonitoringMetrics.ChecksSkipped.Inc();
            return force ? running : Task.CompletedTask;
        }
        if (S.Server is not { } stored || stopping.IsStopping) return Task.CompletedTask;
        // Probe header values are sealed in state; the check round gets them in clear, in memory only.
        var server = stored.Probe.Headers.Count == 0 ? stored : stored with
        {
            Probe = stored.Probe with { Headers = stored.Probe.Headers.ToDictionary(h => h.Key, h => sealer.Unseal(h.Value), StringComparer.OrdinalIgnoreCase) },
        };
        var (session, era, cancelled) = (_session, S.ProbeEra, _deactivating.Token);
        _inFlight = Task.Run(async () =>
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
        return force ? _inFlight : Task.CompletedTask;
    }

    /// <summary>The grain deactivates: a round in flight is cancelled, and the MCP session ends (a DELETE the server must not hold up).</summary>
    public async Task StopAsync()
    {
        await _deactivating.CancelAsync();
        _ = _session.DisposeAsync().AsTask();
    }

    private bool NoteTools(string[] tools, DateTimeOffset at)
    {
        var known = S.KnownTools;
        if (known is not null && known.AsSpan().SequenceEqual(tools)) return false;
        S.KnownTools = tools;
        if (known is not null)
        {
            var change = new ToolSetChange(at, [.. tools.Except(known, StringComparer.Ordinal)], [.. known.Except(tools, StringComparer.Ordinal)]);
            S.LastToolSetChange = change;
            _toolSetChanges.Enqueue(at);
            logger.LogInformation("Server {ServerId} tool set changed: added {Added}, removed {Removed}", serverId, string.Join(",", change.Added), string.Join(",", change.Removed));
        }
        return true;
    }
}
