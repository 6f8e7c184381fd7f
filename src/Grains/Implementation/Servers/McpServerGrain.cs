using Microsoft.Extensions.Options;
using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Observability;
using Monitoring.Probing;
using Monitoring.Rules;
using Monitoring.Settings;

namespace Monitoring.Servers;

/// <summary>
/// One monitored MCP server, where its data lives, and the shell around what it holds: its registration and ingest
/// tokens (<see cref="ServerRegistration"/>), its telemetry (<see cref="ServerTelemetry"/>), its active checks
/// (<see cref="ActiveChecks"/>), the alerts its rules open (<see cref="ServerAlerts"/>), and what it shows: health,
/// status and listing (<see cref="ServerListing"/>). A push or a check round is recorded, then evaluated; a push whose
/// breach could not reach its alert is taken back and refused.
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
    private ServerRegistration? _registration;
    private DateTimeOffset _activatedAt;

    private string ServerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _activatedAt = time.GetUtcNow();
        Telemetry.Restore(_activatedAt);
        if (state.State.Server is null) return;
        // Claims the row: a silo's death can leave an older activation of this server finishing its last call while this
        // one starts (Orleans' default directory allows it for a moment). Its write would land after this read and this
        // activation would keep a stale open set and never tell the alert that write added of its recovery. Written
        // now, the row's version moves on: the older activation's write is refused (its caller is answered 503 and
        // sends again, here), or, when that write came first, this one is refused and the next call reads it.
        await state.WriteStateAsync();
        await WatchAsync();
    }

    /// <summary>Starts watching a registered server: known to this silo, its rules read, its timers going.</summary>
    private async Task WatchAsync()
    {
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
        var result = await Registration.RegisterAsync(server);
        if (!result.Succeeded) return result;
        await Listing.ListAsync(time.GetUtcNow(), force: true);
        await WatchAsync();
        logger.LogDebug("Server {ServerId} registered at {Endpoint}", ServerId, server.Endpoint);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(McpServer server, bool keepProbeHeaders = false)
    {
        var (result, before) = await Registration.UpdateAsync(server, keepProbeHeaders);
        if (!result.Succeeded) return result;
        await Listing.ListAsync(time.GetUtcNow(), force: true);
        Checks.Forget(before!, state.State.Server!);
        Checks.Schedule();
        await EvaluateAsync();
        return WriteResult.Ok;
    }

    public Task<bool> DeleteAsync() => RemoveAsync("server deleted");

    public Task<bool> DeregisterAsync(string reason) => RemoveAsync(reason);

    private async Task<bool> RemoveAsync(string reason)
    {
        if (state.State.Server is null) return false;
        await Alerts.CloseAllAsync(reason);
        await Registration.ClearAsync();
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
        return Status;
    }

    public async Task ApplyChecksAsync(ActiveCheckResult result)
    {
        if (state.State.Server is not { } server) return;
        if (Checks.Take(result, server, Telemetry, time.GetUtcNow())) await state.WriteStateAsync();
        await EvaluateAsync();
    }

    public Task<McpServer?> GetAsync() => Task.FromResult(state.State.Server);

    public Task<ServerStatus?> GetStatusAsync() => Task.FromResult(Status);

    public Task<WriteResult> AddIngestTokenAsync(string id, string hash) => Registration.AddIngestTokenAsync(id, hash);

    public Task<WriteResult> RevokeIngestTokenAsync(string id) => Registration.RevokeIngestTokenAsync(id);

    public Task<bool> AcceptsIngestTokenAsync(string hash) => Task.FromResult(Registration.AcceptsIngestToken(hash));

    public Task<bool> KeepAliveAsync()
    {
        var registered = state.State.Server is not null || Registration.Registering;
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

    private ServerStatus? Status => state.State.Server is { } server ? Listing.Status(server, time.GetUtcNow()) : null;

    private void StartTimers()
    {
        if (_evaluationTimer is not null) return;
        var interval = options.Value.EvaluationInterval;
        // Jitter spreads thousands of servers over the interval instead of one thundering second.
        var jitter = TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * interval.Ticks));
        // One timer a server: each of 10,000 costs about half a kilobyte.
        _evaluationTimer = this.RegisterGrainTimer(_ => TickAsync(), new GrainTimerCreationOptions(jitter, interval) { KeepAlive = true });
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

    public Task<IngestResult> IngestAsync(TelemetryBatch batch) => state.State.Server is null
        ? Task.FromResult(new IngestResult(false, 0, 0))
        : Telemetry.IngestAsync(batch, time.GetUtcNow(), EvaluateCoreAsync);

    public Task EvaluateAsync() => EvaluateCoreAsync();

    public Task RulesChangedAsync() =>
        state.State.Server is not null && ruleCache.Known.Version != Alerts.RulesVersion ? EvaluateCoreAsync() : Task.CompletedTask;

    public Task SilencesChangedAsync() =>
        state.State.Server is not null && state.State.OpenAlertRules.Count > 0 ? EvaluateCoreAsync() : Task.CompletedTask;

    /// <summary>
    /// Evaluates every rule that selects this server and tells the alerts whose condition holds or that are open.
    /// Answers how many holding conditions did not reach their alert (its silo died mid-call, twice): a push that
    /// caused them is refused so its sender retries, and the rules stay in the open set so the next evaluation tries again.
    /// </summary>
    private async Task<int> EvaluateCoreAsync()
    {
        if (state.State.Server is not { } server || stopping.IsStopping) return 0;
        await Alerts.RefreshRulesAsync();
        var now = time.GetUtcNow();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var assessed = Listing.Assess(server, now);
        var unreached = await Alerts.EvaluateAsync(server, assessed.Metrics, assessed.Verdict, Telemetry.RestoredThrough(now), now);
        MonitoringMetrics.EvaluationLatency.Observe(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        await Listing.ListAsync(now, force: false, assessed);
        return unreached;
    }

    private ServerListing Listing => _listing ??= new ServerListing(listings, ServerId, () => state.State, Telemetry, Checks, _activatedAt, logger);

    private ServerRegistration Registration => _registration ??= new ServerRegistration(state, sealer, outbound, time, ServerId);

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
