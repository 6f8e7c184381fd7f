using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Settings;
using Monitoring.Listings;
using Monitoring.Probing;
using Monitoring.Rules;
using Monitoring.Rules.Conditions;
using Monitoring.Observability;

namespace Monitoring.Servers;

[GenerateSerializer, Alias("mcp.McpServerState")]
public sealed class McpServerState
{
    [Id(0), JsonPropertyName("Server")] public McpServer? Server { get; set; }

    /// <summary>Rules with an alert in pending or firing on this server: evaluated even when the condition is false, so they can clear.</summary>
    [Id(1), JsonPropertyName("OpenAlertRules")] public HashSet<string> OpenAlertRules { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The tool list of the last successful probe, kept so a change is noticed across restarts.</summary>
    [Id(2), JsonPropertyName("KnownTools")] public string[]? KnownTools { get; set; }

    [Id(3), JsonPropertyName("LastToolSetChange")] public ToolSetChange? LastToolSetChange { get; set; }

    /// <summary>Ingest tokens of this server: id to SHA-256 hash.</summary>
    [Id(4), JsonPropertyName("IngestTokens")] public Dictionary<string, string> IngestTokens { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One monitored MCP server: registration, a bounded metric window, and evaluation of the rules that select it.
/// Evaluation runs where the data lives; an alert grain is called only when its condition holds or it is open.
/// </summary>
[GrainType("mcpserver")]
public sealed class McpServerGrain(
    [PersistentState("server", StorageNames.Servers)] IPersistentState<McpServerState> state,
    IOptions<MonitoringOptions> options,
    IOptions<ProbingOptions> probing,
    ServerChecks checks,
    IListingStore listings,
    RuleCache ruleCache,
    LocalServers localServers,
    Security.SecretSealer sealer,
    TimeProvider time,
    ILogger<McpServerGrain> logger)
    : Grain, IMcpServerGrain, IRemindable
{
    private const string KeepAliveReminder = "keep-alive";
    private HealthState? _listedHealth;
    private readonly MetricWindow _window = new(options.Value.MetricWindow);
    private readonly ScrapeSeries _scrapes = new(options.Value.MetricWindow);
    private readonly Queue<DateTimeOffset> _toolSetChanges = new();
    private readonly ProbeSession _session = new();
    private readonly CancellationTokenSource _deactivating = new();
    private RuleSet _rules = RuleSet.Empty;
    private IGrainTimer? _evaluationTimer;
    private IGrainTimer? _checkTimer;
    private TimeSpan _checkInterval;
    private Task? _checksInFlight;
    private ProbeResult? _lastProbe;
    private ScrapeResult? _lastScrape;
    private HealthReportResult? _lastReport;
    private DateTimeOffset _activatedAt;

    private string ServerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _activatedAt = time.GetUtcNow();
        if (state.State.Server is not null)
        {
            localServers.Add(ServerId, this.AsReference<IMcpServerGrain>());
            await RefreshRulesAsync();
            StartEvaluationTimer();
            ScheduleChecks();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        localServers.Remove(ServerId);
        await _deactivating.CancelAsync();
        await _session.DisposeAsync();
    }

    public async Task<WriteResult> RegisterAsync(McpServer server)
    {
        if (state.State.Server is not null)
        {
            return WriteResult.Duplicate(ServerId);
        }
        var now = time.GetUtcNow();
        await SaveAsync(server with { CreatedAt = now, UpdatedAt = now });
        localServers.Add(ServerId, this.AsReference<IMcpServerGrain>());
        await RefreshRulesAsync();
        await this.RegisterOrUpdateReminder(KeepAliveReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod * 5);
        StartEvaluationTimer();
        ScheduleChecks();
        logger.LogInformation("Server {ServerId} registered at {Endpoint}", ServerId, server.Endpoint);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(McpServer server, bool keepProbeHeaders = false)
    {
        if (state.State.Server is not { } existing)
        {
            return WriteResult.NotFound;
        }
        if (keepProbeHeaders)
        {
            server = server with { Probe = server.Probe with { Headers = existing.Probe.Headers } };
        }
        await SaveAsync(server with { CreatedAt = existing.CreatedAt, UpdatedAt = time.GetUtcNow() });
        if (existing.MetricsUrl != server.MetricsUrl)
        {
            _lastScrape = null;
        }
        if (existing.HealthUrl != server.HealthUrl)
        {
            _lastReport = null;
        }
        if (!server.Probe.Enabled)
        {
            _lastProbe = null;
        }
        ScheduleChecks();
        await EvaluateAsync();
        return WriteResult.Ok;
    }

    public async Task<bool> DeleteAsync()
    {
        if (state.State.Server is null)
        {
            return false;
        }
        await Task.WhenAll(state.State.OpenAlertRules.Select(ruleId => Alert(ruleId).CloseAsync("server deleted")));
        await state.ClearStateAsync();
        state.State = new McpServerState();
        await listings.RemoveAsync<ServerEntry>(ServerId);
        localServers.Remove(ServerId);
        var reminder = await this.GetReminder(KeepAliveReminder);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
        _evaluationTimer?.Dispose();
        _evaluationTimer = null;
        ScheduleChecks();
        logger.LogInformation("Server {ServerId} deleted", ServerId);
        DeactivateOnIdle();
        return true;
    }

    public Task<McpServer?> GetAsync() => Task.FromResult(state.State.Server);

    public Task<ServerStatus?> GetStatusAsync() => Task.FromResult(Status());

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
            if (probe.Outcome == CheckOutcome.Ok && probe.Tools is { } tools)
            {
                await NoteToolsAsync(tools, probe.At);
            }
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
        await EvaluateAsync();
    }

    private ServerStatus? Status()
    {
        if (state.State.Server is not { } server)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var snapshot = _window.Snapshot(now);
        var verdict = Verdict(server, now);
        return new ServerStatus(
            server, CurrentMetrics(server, now, snapshot, verdict), _window.LastRecordedAt, snapshot.RequestsInWindow,
            [.. state.State.OpenAlertRules.Select(r => AlertIds.For(r, ServerId))])
        {
            Health = verdict,
            LastProbe = _lastProbe,
            LastScrape = _lastScrape,
            LastHealthReport = _lastReport,
            Tools = state.State.KnownTools ?? [],
            LastToolSetChange = state.State.LastToolSetChange,
        };
    }

    public async Task<IngestResult> IngestAsync(TelemetryBatch batch)
    {
        if (state.State.Server is null)
        {
            return new IngestResult(false, 0, 0);
        }
        var now = time.GetUtcNow();
        var accepted = 0;
        foreach (var request in batch.Requests)
        {
            var isToolCall = request.Tool is not null || request.Method == "tools/call";
            if (_window.Record(request.Timestamp ?? now, now, request.DurationMs / 1000.0, request.Success, isToolCall))
            {
                accepted++;
            }
        }
        if (batch.Gauges is { } gauges)
        {
            _window.RecordGauges(gauges, now);
        }
        MonitoringMetrics.TelemetryRecordsIngested.Inc(accepted);
        MonitoringMetrics.TelemetryRecordsDropped.Inc(batch.Requests.Length - accepted);
        var unreached = await EvaluateCoreAsync();
        return new IngestResult(true, accepted, batch.Requests.Length - accepted) { Unreached = unreached };
    }

    public Task EvaluateAsync() => EvaluateCoreAsync();

    /// <summary>
    /// Evaluates every rule that selects this server and tells the alerts whose condition holds or that are open.
    /// Answers how many holding conditions did not reach their alert (its silo died mid-call, twice): a push that
    /// caused them is refused so its sender retries, and the rules stay in the open set so the next evaluation tries again.
    /// </summary>
    private async Task<int> EvaluateCoreAsync()
    {
        if (state.State.Server is not { } server)
        {
            return 0;
        }
        await RefreshRulesAsync();
        var now = time.GetUtcNow();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var verdict = Verdict(server, now);
        var metrics = CurrentMetrics(server, now, _window.Snapshot(now), verdict);
        var summary = new ServerSummary(server.Id, server.Name, server.Endpoint, server.Labels);
        var open = state.State.OpenAlertRules;
        var selected = new HashSet<string>(StringComparer.Ordinal);
        var observed = new List<(string RuleId, ConditionResult Condition, Task<AlertPhase?> Phase)>();

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
            MonitoringMetrics.RuleEvaluations.WithLabels(condition switch { ConditionResult.Holds => "true", ConditionResult.Clear => "false", _ => "no_data" }).Inc();
            if (condition == ConditionResult.Holds || open.Contains(rule.Id))
            {
                observed.Add((rule.Id, condition, ObserveAsync(rule.Id, new Observation(rule, summary, condition, metrics))));
            }
        }

        // Open alerts whose rule was deleted, disabled or no longer selects this server are closed, not left firing.
        var orphaned = open.Where(ruleId => !selected.Contains(ruleId)).ToList();
        var closing = orphaned.Select(ruleId => (RuleId: ruleId, Closed: CloseAsync(ruleId))).ToList();

        await Task.WhenAll(observed.Select(o => (Task)o.Phase).Concat(closing.Select(c => c.Closed)));

        // An alert that could not be reached is counted as open, so the next evaluation tries it again: when in doubt,
        // the server's record errs towards an alert it must still look after, never towards one it forgot.
        var changed = false;
        var unreached = 0;
        foreach (var (ruleId, closed) in closing)
        {
            changed |= closed.Result && open.Remove(ruleId);
        }
        foreach (var (ruleId, condition, phase) in observed)
        {
            if (phase.Result is not { } reached)
            {
                changed |= open.Add(ruleId);
                if (condition == ConditionResult.Holds) unreached++;
                continue;
            }
            changed |= reached is AlertPhase.Pending or AlertPhase.Firing ? open.Add(ruleId) : open.Remove(ruleId);
        }
        if (changed)
        {
            await state.WriteStateAsync();
        }
        MonitoringMetrics.EvaluationLatency.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (_listedHealth != verdict.State)
        {
            _listedHealth = verdict.State;
            await listings.UpsertAsync(new ServerEntry(server) { Health = verdict.State.ToString().ToLowerInvariant() });
        }
        return unreached;
    }

    public async Task<WriteResult> AddIngestTokenAsync(string id, string hash)
    {
        if (state.State.Server is null) return WriteResult.NotFound;
        if (state.State.IngestTokens.Count >= 5) return WriteResult.Conflict("a server has at most 5 ingest tokens; revoke one first");
        state.State.IngestTokens[id] = hash;
        await state.WriteStateAsync();
        return WriteResult.Ok;
    }

    public async Task<WriteResult> RevokeIngestTokenAsync(string id)
    {
        if (state.State.Server is null || !state.State.IngestTokens.Remove(id)) return WriteResult.NotFound;
        await state.WriteStateAsync();
        return WriteResult.Ok;
    }

    public Task<bool> AcceptsIngestTokenAsync(string hash) => Task.FromResult(
        state.State.Server is not null && state.State.IngestTokens.Values.Any(stored => Security.KeyMaterial.HashesEqual(hash, stored)));

    public async Task RulesChangedAsync()
    {
        if (state.State.Server is not null && ruleCache.Known.Version != _rules.Version)
        {
            await EvaluateCoreAsync();
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

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The reminder only brings the grain back after a silo restart; activation restarts evaluation.
        return Task.CompletedTask;
    }

    private HealthVerdict Verdict(McpServer server, DateTimeOffset now) => HealthVerdicts.Combine(new HealthInputs(
        server, now, server.Probe.Interval * probing.Value.StaleAfterIntervals, options.Value.MetricWindow,
        _lastProbe, _lastScrape, _lastReport, _window.LastRecordedAt));

    /// <summary>
    /// The metrics rules see. Pushed telemetry wins for the metrics it provides; a scraped server fills in the rest.
    /// Active checks add <c>up</c>, probe latency, the tool count and changes, health and the age of the newest data.
    /// </summary>
    private Dictionary<string, double> CurrentMetrics(McpServer server, DateTimeOffset now, WindowSnapshot snapshot, HealthVerdict verdict)
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
        if (HealthVerdicts.AsMetric(verdict.State) is { } health)
        {
            metrics[MetricNames.Health] = health;
        }
        var newest = new[]
        {
            _lastProbe is { Outcome: CheckOutcome.Ok } p ? p.At : (DateTimeOffset?)null,
            _lastScrape is { Outcome: CheckOutcome.Ok } s ? s.At : null,
            _lastReport is { Outcome: CheckOutcome.Ok } r ? r.At : null,
            _window.LastRecordedAt,
        }.Max() ?? (server.CreatedAt > _activatedAt ? server.CreatedAt : _activatedAt);
        metrics[MetricNames.DataAgeSeconds] = Math.Max(0, (now - newest).TotalSeconds);
        return metrics;
    }

    private async Task NoteToolsAsync(string[] tools, DateTimeOffset at)
    {
        var known = state.State.KnownTools;
        if (known is not null && known.AsSpan().SequenceEqual(tools))
        {
            return;
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
        await state.WriteStateAsync();
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
        if (state.State.Server is not { } stored)
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
        var stopping = _deactivating.Token;
        var serverId = ServerId;
        _checksInFlight = Task.Run(async () =>
        {
            try
            {
                var result = await checks.RunAsync(server, session, stopping);
                await self.ApplyChecksAsync(result);
            }
            catch (Exception e) when (stopping.IsCancellationRequested || e is OperationCanceledException)
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

    /// <summary>One alert failing (its silo dying mid-call) must not fail the push, the probe or the other rules.</summary>
    private async Task<AlertPhase?> ObserveAsync(string ruleId, Observation observation)
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

    private async Task SaveAsync(McpServer server)
    {
        // Probe header values (bearer tokens) are sealed at rest; a kept header is already sealed and stays as it is.
        state.State.Server = server.Probe.Headers.Count == 0 ? server : server with
        {
            Probe = server.Probe with
            {
                Headers = server.Probe.Headers.ToDictionary(h => h.Key, h => h.Value.StartsWith("dp1:", StringComparison.Ordinal) ? h.Value : sealer.Seal(h.Value), StringComparer.OrdinalIgnoreCase),
            },
        };
        await state.WriteStateAsync();
        await listings.UpsertAsync(new ServerEntry(state.State.Server) { Health = (_listedHealth ?? HealthState.Unknown).ToString().ToLowerInvariant() });
    }

    private void StartEvaluationTimer()
    {
        if (_evaluationTimer is not null)
        {
            return;
        }
        var interval = options.Value.EvaluationInterval;
        // Jitter spreads thousands of servers over the interval instead of one thundering second.
        var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks));
        _evaluationTimer = this.RegisterGrainTimer(
            _ => EvaluateAsync(),
            new GrainTimerCreationOptions(jitter, interval) { KeepAlive = true });
    }
}
