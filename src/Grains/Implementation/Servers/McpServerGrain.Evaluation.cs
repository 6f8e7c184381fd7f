using Monitoring.Alerts;
using Monitoring.Listings;
using Monitoring.Observability;
using Monitoring.Probing;
using Monitoring.Rules;
using Monitoring.Rules.Conditions;

namespace Monitoring.Servers;

/// <summary>Telemetry, the metrics rules see, the health verdict, and the evaluation of the rules that select the server.</summary>
public sealed partial class McpServerGrain
{
    private static readonly TimeSpan ListingRefresh = TimeSpan.FromMinutes(1);
    private ServerEntry? _listed;
    private ServerAlerts? _alerts;

    public async Task<IngestResult> IngestAsync(TelemetryBatch batch)
    {
        if (state.State.Server is null)
        {
            return new IngestResult(false, 0, 0);
        }
        var now = time.GetUtcNow();
        // A push is recorded as one batch: refused (an alert it made hold could not be told, or what that changed could
        // not be stored), it is taken back whole, so the sender's resend is its only copy and nothing counts twice.
        var (accepted, summed, dropped) = Telemetry.Record(batch, now);
        int unreached;
        try
        {
            unreached = await EvaluateCoreAsync();
        }
        catch
        {
            Telemetry.TakeBack();
            throw;
        }
        if (unreached > 0)
        {
            Telemetry.TakeBack();
            return new IngestResult(true, 0, 0) { Unreached = unreached };
        }
        Telemetry.Commit(batch, now);
        MonitoringMetrics.TelemetryRecordsIngested.Inc(accepted + summed);
        MonitoringMetrics.TelemetryRecordsDropped.Inc(dropped);
        return new IngestResult(true, Saturate(accepted + summed), Saturate(dropped));
    }

    private static int Saturate(long value) => (int)Math.Min(value, int.MaxValue);

    public Task EvaluateAsync() => EvaluateCoreAsync();

    public async Task RulesChangedAsync()
    {
        if (state.State.Server is not null && ruleCache.Known.Version != Alerts.RulesVersion)
        {
            await EvaluateCoreAsync();
        }
    }

    public async Task SilencesChangedAsync()
    {
        if (state.State.Server is not null && state.State.OpenAlertRules.Count > 0)
        {
            await EvaluateCoreAsync();
        }
    }

    /// <summary>
    /// Evaluates every rule that selects this server and tells the alerts whose condition holds or that are open.
    /// Answers how many holding conditions did not reach their alert (its silo died mid-call, twice): a push that
    /// caused them is refused so its sender retries, and the rules stay in the open set so the next evaluation tries again.
    /// </summary>
    private async Task<int> EvaluateCoreAsync()
    {
        if (state.State.Server is not { } server || stopping.IsStopping)
        {
            return 0;
        }
        await Alerts.RefreshRulesAsync();
        var now = time.GetUtcNow();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (metrics, verdict) = Assess(server, now, Telemetry.Window.Snapshot(now));
        var summary = new ServerSummary(server.Id, server.Name, server.Endpoint, server.Labels)
        {
            Health = verdict.State.ToString().ToLowerInvariant(),
            HealthReasons = verdict.Reasons,
        };
        var unreached = await Alerts.EvaluateAsync(server, summary, metrics, Telemetry.RestoredThrough(now), now);
        MonitoringMetrics.EvaluationLatency.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        await ListAsync(now, force: false, metrics, verdict);
        return unreached;
    }

    /// <summary>
    /// The metrics rules see, and the health verdict. Pushed telemetry wins for the metrics it provides; a scraped
    /// server fills in the rest. Active checks add <c>up</c>, probe latency, the tool count and changes, and the age of
    /// the newest data; the verdict, computed from all of them, adds <c>health</c>.
    /// </summary>
    private (Dictionary<string, double> Metrics, HealthVerdict Verdict) Assess(McpServer server, DateTimeOffset now, WindowSnapshot snapshot)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        _scrapes.AddMetrics(now, metrics);
        var pushing = Telemetry.Window.LastRecordedAt is { } pushedAt && pushedAt > now - options.Value.MetricWindow;
        if (pushing || metrics.Count == 0)
        {
            snapshot.AddTo(metrics);
        }
        if (_lastProbe is { } probe)
        {
            metrics[MetricNames.Up] = probe.Up ? 1 : 0;
            if (probe.Up)
            {
                metrics[MetricNames.ProbeLatencySeconds] = probe.LatencySeconds;
            }
        }
        else if (!server.Probe.Enabled && _lastScrape is { } scrape)
        {
            metrics[MetricNames.Up] = scrape.Outcome == CheckOutcome.Ok ? 1 : 0;
        }
        if (state.State.KnownTools is { } tools)
        {
            metrics[MetricNames.ToolCount] = tools.Length;
        }
        while (_toolSetChanges.TryPeek(out var changedAt) && changedAt <= now - options.Value.MetricWindow)
        {
            _toolSetChanges.Dequeue();
        }
        metrics[MetricNames.ToolSetChanges] = _toolSetChanges.Count;
        var newest = new[] { _checkDataAt, Telemetry.Window.LastRecordedAt }.Max()
            ?? (server.CreatedAt > _activatedAt ? server.CreatedAt : _activatedAt);
        metrics[MetricNames.DataAgeSeconds] = Math.Max(0, (now - newest).TotalSeconds);

        var verdict = HealthVerdicts.Combine(new HealthInputs(
            server, now, server.Probe.Interval * probing.Value.StaleAfterIntervals, options.Value.MetricWindow,
            _lastProbe, _lastScrape, _lastReport, Telemetry.Window.LastRecordedAt)
        {
            ErrorRate = metrics.TryGetValue(MetricNames.ErrorRate, out var errorRate) ? errorRate : null,
            Requests = snapshot.RequestsInWindow,
        });
        if (HealthVerdicts.AsMetric(verdict.State) is { } health)
        {
            metrics[MetricNames.Health] = health;
        }
        return (metrics, verdict);
    }

    /// <summary>
    /// Keeps the server's listing entry current: written at once when the verdict, <c>up</c> or the open alerts change,
    /// and with fresh metrics and reasons at most once a minute otherwise, so a fleet of 10,000 is not a write per evaluation.
    /// </summary>
    private async Task ListAsync(DateTimeOffset now, bool force, Dictionary<string, double>? metrics = null, HealthVerdict? verdict = null)
    {
        if (state.State.Server is not { } server) return;
        if (metrics is null || verdict is null) (metrics, verdict) = Assess(server, now, Telemetry.Window.Snapshot(now));
        var entry = new ServerEntry(server)
        {
            Health = verdict.State.ToString().ToLowerInvariant(),
            HealthReasons = verdict.Reasons,
            Metrics = ServerEntry.ListedMetrics.Where(metrics.ContainsKey).ToDictionary(m => m, m => Math.Round(metrics[m], 6)),
            OpenAlerts = state.State.OpenAlertRules.Count,
            ListedAt = now,
        };
        var listed = _listed;
        var urgent = force || listed is null || listed.Health != entry.Health || listed.OpenAlerts != entry.OpenAlerts
            || listed.Metrics.GetValueOrDefault(MetricNames.Up, -1) != entry.Metrics.GetValueOrDefault(MetricNames.Up, -1);
        // The reasons carry figures (an error share, a latency, an age) that move with every evaluation: like the
        // metrics, they are refreshed once a minute, or a fleet's listing would be written every 15 s a server.
        var stale = listed is not null && now - listed.ListedAt >= ListingRefresh
            && (!listed.Metrics.OrderBy(m => m.Key).SequenceEqual(entry.Metrics.OrderBy(m => m.Key)) || !listed.HealthReasons.SequenceEqual(entry.HealthReasons));
        if (!urgent && !stale) return;
        try
        {
            await listings.UpsertAsync(entry);
            _listed = entry;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Server {ServerId}: its listing entry could not be written; trying again with the next evaluation", ServerId);
        }
    }

    public Task AlertChangedAsync(string ruleId)
    {
        Alerts.Changed(ruleId);
        return Task.CompletedTask;
    }

    /// <summary>Called only by an alert of an older silo during a rolling upgrade (<see cref="ServerAlerts.SleepsAsync"/>).</summary>
    public Task AlertSleepsAsync(string ruleId, DateTimeOffset until) => Alerts.SleepsAsync(ruleId, until);

    private ServerAlerts Alerts => _alerts ??= new ServerAlerts(
        ServerId, () => state.State, () => state.WriteStateAsync(), GrainFactory, ruleCache, silences, routing, options.Value, logger);
}
