using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Observability;
using Monitoring.Probing;
using Monitoring.Rules;
using Monitoring.Settings;

namespace Monitoring.Servers;

/// <summary>
/// One monitored MCP server, where its data lives: its registration and ingest tokens, and the shell around what it
/// holds: its telemetry (<see cref="ServerTelemetry"/>), its active checks and health (<see cref="ActiveChecks"/>), the
/// alerts its rules open (<see cref="ServerAlerts"/>) and its listing (<see cref="ServerListing"/>). A push or a check
/// round is recorded, then evaluated; a push whose breach could not reach its alert is taken back and refused.
/// </summary>
[GrainType("mcpserver")]
public sealed class McpServerGrain(
    [PersistentState("server", StorageNames.Servers)] IPersistentState<McpServerState> state,
    [PersistentState("window", StorageNames.Servers)] IPersistentState<ServerWindowState> windowState,
    [PersistentState("history", StorageNames.Servers)] IPersistentState<ServerHistoryState> historyState,
    IOptions<MonitoringOptions> options,
    IOptions<ProbingOptions> probing,
    ServerChecks checks,
    IListingStore listings,
    RuleCache ruleCache,
    Silences.SilenceCache silences,
    Routing.RoutingCache routing,
    LocalServers localServers,
    Security.SecretSealer sealer,
    Outbound.OutboundGuard outbound,
    StateDurability durability,
    SiloStopping stopping,
    TimeProvider time,
    ILogger<McpServerGrain> logger)
    : Grain, IMcpServerGrain, IRemindable
{
    private IGrainTimer? _evaluationTimer;
    private ServerTelemetry? _telemetry;
    private ActiveChecks? _checks;
    private ServerAlerts? _alerts;
    private ServerListing? _listing;
    private DateTimeOffset _activatedAt;
    private bool _registering;

    private string ServerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _activatedAt = time.GetUtcNow();
        Telemetry.Restore(_activatedAt);
        if (state.State.Server is null)
        {
            return;
        }
        // Claims the row: a silo's death can leave an older activation of this server finishing its last call while this
        // one starts (Orleans' default directory allows it for a moment). Its write would land after this read and this
        // activation would keep a stale open set and never tell the alert that write added of its recovery. Written
        // now, the row's version moves on: the older activation's write is refused (its caller is answered 503 and
        // sends again, here), or, when that write came first, this one is refused and the next call reads it.
        await state.WriteStateAsync();
        localServers.Add(ServerId, this.AsReference<IMcpServerGrain>());
        await Alerts.RefreshRulesAsync();
        StartTimers();
        Checks.Schedule();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        localServers.Remove(ServerId);
        await Checks.StopAsync();
        if (state.State.Server is not null && !(durability.Volatile && reason.ReasonCode == DeactivationReasonCode.ShuttingDown))
        {
            await Telemetry.SaveAsync(time.GetUtcNow(), force: true);
        }
    }

    public async Task<WriteResult> RegisterAsync(McpServer server)
    {
        if (state.State.Server is not null)
        {
            return WriteResult.Duplicate(ServerId);
        }
        if (ServerRegistration.Unreachable(server, outbound) is { } refused)
        {
            return refused;
        }
        var now = time.GetUtcNow();
        // Whoever registers puts the server into its shard first (ServerShards.RegisterAsync): a shard's call
        // meanwhile finds it registering.
        _registering = true;
        try
        {
            await SaveAsync(server with { CreatedAt = now, UpdatedAt = now });
        }
        finally
        {
            _registering = false;
        }
        localServers.Add(ServerId, this.AsReference<IMcpServerGrain>());
        await Alerts.RefreshRulesAsync();
        StartTimers();
        Checks.Schedule();
        logger.LogDebug("Server {ServerId} registered at {Endpoint}", ServerId, server.Endpoint);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(McpServer server, bool keepProbeHeaders = false)
    {
        if (state.State.Server is not { } existing)
        {
            return WriteResult.NotFound;
        }
        if (ServerRegistration.Unreachable(server, outbound) is { } refused)
        {
            return refused;
        }
        if (keepProbeHeaders)
        {
            server = server with { Probe = server.Probe with { Headers = existing.Probe.Headers } };
        }
        if (existing.Endpoint != server.Endpoint || existing.Probe.Transport != server.Probe.Transport || existing.Probe.ProtocolVersion != server.Probe.ProtocolVersion)
        {
            state.State.ProbeEra = null; // found again on the next probe
        }
        await SaveAsync(server with { CreatedAt = existing.CreatedAt, UpdatedAt = time.GetUtcNow() });
        Checks.Forget(existing, server);
        Checks.Schedule();
        await EvaluateAsync();
        return WriteResult.Ok;
    }

    public Task<bool> DeleteAsync() => RemoveAsync("server deleted");

    public Task<bool> DeregisterAsync(string reason) => RemoveAsync(reason);

    private async Task<bool> RemoveAsync(string reason)
    {
        if (state.State.Server is null)
        {
            return false;
        }
        await Alerts.CloseAllAsync(reason);
        await state.ClearStateAsync();
        state.State = new McpServerState();
        await Telemetry.ClearAsync();
        await listings.RemoveAsync<ServerEntry>(ServerId);
        localServers.Remove(ServerId); // its shard drops it at its next tick, when it answers that it is not registered
        _evaluationTimer?.Dispose();
        _evaluationTimer = null;
        Checks.Schedule();
        logger.LogInformation("Server {ServerId} deleted ({Reason})", ServerId, reason);
        DeactivateOnIdle();
        return true;
    }

    public async Task<ServerStatus?> CheckNowAsync()
    {
        if (state.State.Server is null) return null;
        await Checks.Start(force: true);
        return Status();
    }

    public async Task ApplyChecksAsync(ActiveCheckResult result)
    {
        if (state.State.Server is not { } server) return;
        if (Checks.Take(result, server, Telemetry, time.GetUtcNow())) await state.WriteStateAsync();
        await EvaluateAsync();
    }

    public Task<McpServer?> GetAsync() => Task.FromResult(state.State.Server);

    public Task<ServerStatus?> GetStatusAsync() => Task.FromResult(Status());

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

    public Task<bool> KeepAliveAsync()
    {
        var registered = state.State.Server is not null || _registering;
        if (!registered) DeactivateOnIdle();
        return Task.FromResult(registered);
    }

    /// <summary>
    /// A reminder of its own kept a server alive before shards took over (<see cref="IServerShardGrain"/>, 2026-11-26,
    /// before v0.40, the oldest release this one upgrades from). Every server of v0.40 on is in its shard, so a tick of
    /// such a reminder only removes it.
    /// </summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (await this.GetReminder(reminderName) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private ServerStatus? Status()
    {
        if (state.State.Server is not { } server)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var snapshot = Telemetry.Window.Snapshot(now);
        var (metrics, verdict) = Assess(server, now, snapshot);
        return new ServerStatus(server, metrics, Telemetry.Window.LastRecordedAt, snapshot.RequestsInWindow,
            [.. state.State.OpenAlertRules.Select(r => AlertIds.For(r, ServerId))])
        {
            Health = verdict,
            LastProbe = Checks.LastProbe,
            LastScrape = Checks.LastScrape,
            LastHealthReport = Checks.LastReport,
            Tools = state.State.KnownTools ?? [],
            LastToolSetChange = state.State.LastToolSetChange,
            Series = Telemetry.Window.Series(now),
        };
    }

    private async Task SaveAsync(McpServer server)
    {
        state.State.Server = ServerRegistration.Sealed(server, sealer);
        await state.WriteStateAsync();
        await ListAsync(time.GetUtcNow(), force: true);
    }

    private void StartTimers()
    {
        if (_evaluationTimer is null)
        {
            var interval = options.Value.EvaluationInterval;
            // Jitter spreads thousands of servers over the interval instead of one thundering second.
            var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks));
            // One timer a server: each of 10,000 costs about half a kilobyte.
            _evaluationTimer = this.RegisterGrainTimer(_ => TickAsync(), new GrainTimerCreationOptions(jitter, interval) { KeepAlive = true });
        }
    }

    private async Task TickAsync()
    {
        try
        {
            await EvaluateAsync();
        }
        finally
        {
            if (state.State.Server is not null) await Telemetry.SaveAsync(time.GetUtcNow(), force: false);
        }
    }

    public Task<HistoryAnswer?> GetHistoryAsync(TotalsQuery query) =>
        Task.FromResult(state.State.Server is null ? null : Telemetry.History.Answer(query, time.GetUtcNow()));

    public Task<ServerHistorySummary?> GetSummaryAsync(TimeSpan window) =>
        Task.FromResult(state.State.Server is null ? null : Telemetry.History.Summary(window, time.GetUtcNow()));

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

    /// <summary>The metrics rules see and the health verdict (<see cref="ActiveChecks.Assess"/>); data's age counts from the registration or this activation.</summary>
    private (Dictionary<string, double> Metrics, HealthVerdict Verdict) Assess(McpServer server, DateTimeOffset now, WindowSnapshot snapshot) =>
        Checks.Assess(server, Telemetry.Window, snapshot, server.CreatedAt > _activatedAt ? server.CreatedAt : _activatedAt, now);

    /// <summary>Keeps the listing entry current (<see cref="ServerListing"/>), assessing the server when the caller has not.</summary>
    private async Task ListAsync(DateTimeOffset now, bool force, Dictionary<string, double>? metrics = null, HealthVerdict? verdict = null)
    {
        if (state.State.Server is not { } server) return;
        if (metrics is null || verdict is null) (metrics, verdict) = Assess(server, now, Telemetry.Window.Snapshot(now));
        await Listing.ListAsync(server, state.State.OpenAlertRules.Count, metrics, verdict, now, force);
    }

    private ServerListing Listing => _listing ??= new ServerListing(listings, ServerId, logger);

    public Task AlertChangedAsync(string ruleId)
    {
        Alerts.Changed(ruleId);
        return Task.CompletedTask;
    }

    /// <summary>Called only by an alert of an older silo during a rolling upgrade (<see cref="ServerAlerts.SleepsAsync"/>).</summary>
    public Task AlertSleepsAsync(string ruleId, DateTimeOffset until) => Alerts.SleepsAsync(ruleId, until);

    private ServerAlerts Alerts => _alerts ??= new ServerAlerts(
        ServerId, () => state.State, () => state.WriteStateAsync(), GrainFactory, ruleCache, silences, routing, options.Value, logger);

    private ActiveChecks Checks => _checks ??= new ActiveChecks(
        this, this.AsReference<IMcpServerGrain>(), ServerId, () => state.State, checks, sealer, stopping, options.Value, probing.Value, logger);

    /// <summary>The window, the cumulative series and the history, kept in memory and written behind.</summary>
    private ServerTelemetry Telemetry => _telemetry ??= new ServerTelemetry(options.Value.MetricWindow, windowState, historyState, ServerId, logger);
}
