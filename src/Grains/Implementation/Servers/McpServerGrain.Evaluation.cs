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
    private RuleSet _rules = RuleSet.Empty;
    private ServerEntry? _listed;

    /// <summary>
    /// The window holds nothing an open alert has not already seen: only what was restored from storage (the snapshot
    /// is written behind, so it may be older than the breach an open alert saw: its silo died before the next write),
    /// or a refused push was just taken back (its alert may have fired on it; the resend brings it again). Until data
    /// arrives again, a clear condition the window yields is not evidence of recovery.
    /// </summary>
    private bool _windowRestored;

    /// <summary>The open set changed and its write failed: written again at the next evaluation.</summary>
    private bool _openUnsaved;

    /// <summary>
    /// What each open alert was last told. An open alert whose condition, rule, server summary, silences and routing
    /// are as they were is told again only once a reminder period (its latest values with it), not on every
    /// evaluation: a fleet's firing alerts cost a call each a minute instead of four, and their values stop churning
    /// the heap. An alert that went to sleep (nothing due within a reminder period, nothing in flight) is told again
    /// only at the moment it asked for (<see cref="Told.WakeAt"/>). The alert's own deadlines run on its timer while
    /// it is awake; a change of any of these reaches it at the next evaluation, asleep or not.
    /// </summary>
    private readonly Dictionary<string, Told> _told = new(StringComparer.Ordinal);

    private sealed record Told(ConditionResult Condition, AlertRule Rule, ServerSummary Server, News? News, DateTimeOffset At, DateTimeOffset? WakeAt)
    {
        /// <summary>Nothing this alert needs to hear has changed, and it is not yet time to tell it again.</summary>
        public bool StillHolds(ConditionResult condition, AlertRule rule, ServerSummary server, News? news, DateTimeOffset now, TimeSpan period) =>
            Condition == condition && ReferenceEquals(Rule, rule) && news is { } current && News == current && SameSummary(Server, server)
            && (WakeAt is { } wake ? now < wake : now - At < period);
    }

    /// <summary>The versions of this silo's copies of the silences and the routing: a change to either is news for every open alert.</summary>
    private readonly record struct News(long Silences, long Routing);

    public async Task<IngestResult> IngestAsync(TelemetryBatch batch)
    {
        if (state.State.Server is null)
        {
            return new IngestResult(false, 0, 0);
        }
        var now = time.GetUtcNow();
        // A push is recorded as one batch: refused (an alert it made hold could not be told, or what that changed could
        // not be stored), it is taken back whole, so the sender's resend is its only copy and nothing counts twice.
        _window.Begin();
        _cumulative.Begin();
        var (accepted, summed, dropped) = Record(batch, now);
        int unreached;
        try
        {
            unreached = await EvaluateCoreAsync();
        }
        catch
        {
            TakeBack();
            throw;
        }
        if (unreached > 0)
        {
            TakeBack();
            return new IngestResult(true, 0, 0) { Unreached = unreached };
        }
        _window.Commit();
        _cumulative.Commit();
        RecordHistory(batch, now);
        MonitoringMetrics.TelemetryRecordsIngested.Inc(accepted + summed);
        MonitoringMetrics.TelemetryRecordsDropped.Inc(dropped);
        return new IngestResult(true, Saturate(accepted + summed), Saturate(dropped));
    }

    /// <summary>
    /// Takes a refused push back. An alert may already have fired on it (its state was stored before the part that
    /// failed): what the window yields without it does not resolve that alert until data arrives again, the resend first.
    /// </summary>
    private void TakeBack()
    {
        _historyPoints.Clear();
        _window.Rollback();
        _cumulative.Rollback();
        _windowRestored = true;
    }

    /// <summary>Records a push's requests, summed points and gauges into the window: how many were taken, summed and dropped.</summary>
    private (int Accepted, long Summed, long Dropped) Record(TelemetryBatch batch, DateTimeOffset now)
    {
        var accepted = 0;
        foreach (var request in batch.Requests)
        {
            var isToolCall = request.Tool is not null || request.Method == "tools/call";
            if (_window.Record(request.Timestamp ?? now, now, request.DurationMs / 1000.0, request.Success, isToolCall))
            {
                accepted++;
            }
        }
        var dropped = (long)batch.Requests.Length - accepted;
        long summed = 0;
        foreach (var point in batch.Aggregates)
        {
            if (_cumulative.ToDelta(point, now, options.Value.MetricWindow) is not { } delta)
            {
                continue;
            }
            if (delta.Count < 0)
            {
                dropped += point.Count;
                continue;
            }
            var isToolCall = delta.Tool is not null || delta.Method == "tools/call";
            _historyPoints.Add(delta);
            if (_window.RecordMany(delta.At, now, delta.Count, delta.Success, isToolCall, delta.SumSeconds, delta.BoundsSeconds, delta.BucketCounts, delta.MinSeconds, delta.MaxSeconds))
            {
                summed += delta.Count;
            }
            else
            {
                dropped += delta.Count;
            }
        }
        if (batch.Gauges is { } gauges)
        {
            _window.RecordGauges(gauges, now);
        }
        _windowRestored &= accepted == 0 && summed == 0 && batch.Gauges is null;
        return (accepted, summed, dropped);
    }

    /// <summary>The cumulative OTLP series pushed to this server, each turned into the requests a point adds.</summary>
    private readonly CumulativeSeries _cumulative = new();

    private static int Saturate(long value) => (int)Math.Min(value, int.MaxValue);

    public Task EvaluateAsync() => EvaluateCoreAsync();

    public async Task RulesChangedAsync()
    {
        if (state.State.Server is not null && ruleCache.Known.Version != _rules.Version)
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
        await RefreshRulesAsync();
        var now = time.GetUtcNow();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var (metrics, verdict) = Assess(server, now, _window.Snapshot(now));
        var summary = new ServerSummary(server.Id, server.Name, server.Endpoint, server.Labels)
        {
            Health = verdict.State.ToString().ToLowerInvariant(),
            HealthReasons = verdict.Reasons,
        };
        var open = state.State.OpenAlertRules;
        var selected = new HashSet<string>(StringComparer.Ordinal);
        var restoredOnly = _windowRestored && _window.LastRecordedAt is { } recordedAt && recordedAt > now - options.Value.MetricWindow;
        var telling = new List<(AlertRule Rule, ConditionResult Condition, Observation Observation)>();
        var news = await NewsAsync();

        foreach (var rule in _rules.Rules)
        {
            if (!rule.Enabled || !rule.Selects(server.Labels))
            {
                continue;
            }
            selected.Add(rule.Id);
            var condition = !server.Enabled ? ConditionResult.Clear : ConditionParser.Compile(rule.Condition).Evaluate(metrics) switch
            {
                true => ConditionResult.Holds,
                false => ConditionResult.Clear,
                null => ConditionResult.NoData,
            };
            // No data is not recovery, and neither is data from before the breach: a window restored from an older
            // snapshot cannot resolve an open alert until data arrives again.
            DateTimeOffset? restoredClearThrough = null;
            if (condition == ConditionResult.Clear && restoredOnly && server.Enabled && open.Contains(rule.Id))
            {
                condition = ConditionResult.NoData;
                restoredClearThrough = _window.LastRecordedAt; // the alert knows when it began: it decides
            }
            MonitoringMetrics.RuleEvaluations.WithLabels(condition switch { ConditionResult.Holds => "true", ConditionResult.Clear => "false", _ => "no_data" }).Inc();
            if (open.Contains(rule.Id) && _told.TryGetValue(rule.Id, out var told) && told.StillHolds(condition, rule, summary, news, now, options.Value.ReminderPeriod))
            {
                continue;
            }
            if (condition == ConditionResult.Holds || open.Contains(rule.Id))
            {
                telling.Add((rule, condition, new Observation(rule, summary, condition, metrics) { RestoredClearThrough = restoredClearThrough }));
            }
        }

        // Store before hand-off: an alert a holding condition may open is counted open, and stored so, before it is
        // told. So however a silo's death falls, a firing alert is one its server looks after (and tells when the
        // condition clears); an alert it counts open that is not is told once and drops out.
        var opening = false;
        foreach (var (rule, condition, _) in telling) opening |= condition == ConditionResult.Holds && open.Add(rule.Id);
        if (opening || _openUnsaved && telling.Count > 0)
        {
            await WriteOpenSetAsync();
        }
        var observed = telling.Select(t => (t.Rule, t.Condition, Answer: ObserveAsync(t.Rule.Id, t.Observation))).ToList();

        // Open alerts whose rule was deleted, disabled or no longer selects this server are closed, not left firing.
        var closing = open.Where(ruleId => !selected.Contains(ruleId)).Select(ruleId => (RuleId: ruleId, Closed: CloseAsync(ruleId))).ToList();

        await Task.WhenAll(observed.Select(o => (Task)o.Answer).Concat(closing.Select(c => c.Closed)));

        // An alert that could not be reached is counted as open, so the next evaluation tries it again: when in doubt,
        // the server's record errs towards an alert it must still look after, never towards one it forgot.
        var changed = false;
        var unreached = 0;
        foreach (var (ruleId, closed) in closing)
        {
            changed |= closed.Result && open.Remove(ruleId);
            _told.Remove(ruleId);
        }
        foreach (var (rule, condition, answer) in observed)
        {
            if (answer.Result is not { } reached)
            {
                changed |= open.Add(rule.Id);
                _told.Remove(rule.Id);
                if (condition == ConditionResult.Holds) unreached++;
                continue;
            }
            if (reached.Phase is AlertPhase.Pending or AlertPhase.Firing)
            {
                changed |= open.Add(rule.Id);
                _told[rule.Id] = new Told(condition, rule, summary, news, now, reached.SleepsUntil);
            }
            else
            {
                changed |= open.Remove(rule.Id);
                _told.Remove(rule.Id);
            }
        }
        if (changed || _openUnsaved)
        {
            await WriteOpenSetAsync();
        }
        MonitoringMetrics.EvaluationLatency.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        await ListAsync(now, force: false, metrics, verdict);
        return unreached;
    }

    public Task AlertChangedAsync(string ruleId)
    {
        _told.Remove(ruleId);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Called only by an alert of an older silo during a rolling upgrade: alerts of this version sleep only in their
    /// answer to an observation, and a server stores an alert as open before telling it of a breach.
    /// </summary>
    public async Task AlertSleepsAsync(string ruleId, DateTimeOffset until)
    {
        if (_told.TryGetValue(ruleId, out var told))
        {
            _told[ruleId] = told with { WakeAt = until };
        }
        // Only an open alert sleeps. One this activation did not count open was opened by an activation that a silo's
        // death left finishing beside this one: counted now, it hears of the server's recovery, its next notification
        // and its deadlines, from the next evaluation on.
        if (state.State.Server is not null && state.State.OpenAlertRules.Add(ruleId))
        {
            logger.LogInformation("Server {ServerId}: alert of rule {RuleId} is open; this activation did not know it", ServerId, ruleId);
            await WriteOpenSetAsync();
        }
    }

    /// <summary>
    /// Stores the open set. A write that fails leaves it in memory ahead of storage: the next evaluation writes it again
    /// even when nothing changed since, or a silo's death would take the alert it added with it.
    /// </summary>
    private async Task WriteOpenSetAsync()
    {
        _openUnsaved = true;
        await state.WriteStateAsync();
        _openUnsaved = false;
    }

    /// <summary>The same server in the same health; the reasons carry figures (an error share, a latency) and travel with the values.</summary>
    private static bool SameSummary(ServerSummary a, ServerSummary b) =>
        a.Id == b.Id && a.Name == b.Name && a.Endpoint == b.Endpoint && ReferenceEquals(a.Labels, b.Labels) && a.Health == b.Health;

    /// <summary>
    /// The versions of this silo's copies of the silences and the routing: a new or changed silence, route or
    /// inhibition rule is news for every open alert. Unknown (either could not be read) counts as news.
    /// </summary>
    private async Task<News?> NewsAsync()
    {
        try
        {
            return new News((await silences.GetAsync()).Version, (await routing.GetAsync()).Version);
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Server {ServerId} could not read the silences or the routing; its open alerts are told again", ServerId);
            return null;
        }
    }

    /// <summary>Takes this silo's copy of the rules; a newer version applies from this evaluation on.</summary>
    private async Task RefreshRulesAsync()
    {
        try
        {
            var rules = await ruleCache.CurrentAsync();
            if (rules.Version > _rules.Version) _rules = rules;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Server {ServerId} could not read the rule catalog; evaluating with rules version {Version}", ServerId, _rules.Version);
        }
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
        var pushing = _window.LastRecordedAt is { } pushedAt && pushedAt > now - options.Value.MetricWindow;
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
        var newest = new[] { _checkDataAt, _window.LastRecordedAt }.Max()
            ?? (server.CreatedAt > _activatedAt ? server.CreatedAt : _activatedAt);
        metrics[MetricNames.DataAgeSeconds] = Math.Max(0, (now - newest).TotalSeconds);

        var verdict = HealthVerdicts.Combine(new HealthInputs(
            server, now, server.Probe.Interval * probing.Value.StaleAfterIntervals, options.Value.MetricWindow,
            _lastProbe, _lastScrape, _lastReport, _window.LastRecordedAt)
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
        if (metrics is null || verdict is null) (metrics, verdict) = Assess(server, now, _window.Snapshot(now));
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

    /// <summary>One alert failing (its silo dying mid-call) must not fail the push, the probe or the other rules.</summary>
    private async Task<Observed?> ObserveAsync(string ruleId, Observation observation)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Alert(ruleId).ObserveAsync(observation);
            }
            catch (Exception e) when (attempt == 1)
            {
                // Once more at once: a call to a silo that has just died is placed elsewhere once the cluster knows.
                logger.LogDebug(e, "Alert {AlertId} did not take an observation; trying once more", AlertIds.For(ruleId, ServerId));
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Alert {AlertId} could not take an observation; the next evaluation retries", AlertIds.For(ruleId, ServerId));
                return null;
            }
        }
    }

    private async Task<bool> CloseAsync(string ruleId)
    {
        try
        {
            await Alert(ruleId).CloseAsync("rule no longer applies to this server");
            return true;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Alert {AlertId} could not be closed; the next evaluation retries", AlertIds.For(ruleId, ServerId));
            return false;
        }
    }

    private IAlertGrain Alert(string ruleId) => GrainFactory.GetGrain<IAlertGrain>(AlertIds.For(ruleId, ServerId));
}
