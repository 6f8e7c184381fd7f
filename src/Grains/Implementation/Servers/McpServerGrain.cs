using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Listings;
using Monitoring.Probing;
using Monitoring.Rules;
using Monitoring.Settings;

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

    /// <summary>The protocol era a probe last reached the server in, so the next probe goes straight there.</summary>
    [Id(5), JsonPropertyName("ProbeEra")] public ProbeEra? ProbeEra { get; set; }
}

/// <summary>
/// The server's metric window as <see cref="MetricWindow.Export"/> wrote it, kept apart from the registration and
/// written behind (at most every 30 s while it changes), so a new activation after a restart or a silo's death starts
/// with the data it had instead of an empty window.
/// </summary>
[GenerateSerializer, Alias("mcp.ServerWindowState")]
public sealed class ServerWindowState
{
    [Id(0), JsonPropertyName("Data")] public byte[]? Data { get; set; }
    [Id(1), JsonPropertyName("At")] public DateTimeOffset At { get; set; }
}

/// <summary>
/// One monitored MCP server: its registration, a bounded metric window, its active checks, and the evaluation of the
/// rules that select it, where the data lives. This file holds the registration and the grain's life; the evaluation
/// and the checks are in the two partial files beside it.
/// </summary>
[GrainType("mcpserver")]
public sealed partial class McpServerGrain(
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
    private DateTimeOffset _activatedAt;
    private bool _registering;

    private string ServerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _activatedAt = time.GetUtcNow();
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
        Telemetry.Restore(_activatedAt);
        localServers.Add(ServerId, this.AsReference<IMcpServerGrain>());
        await Alerts.RefreshRulesAsync();
        StartTimers();
        ScheduleChecks();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        localServers.Remove(ServerId);
        await _deactivating.CancelAsync();
        // Ending the MCP session tells the server (a DELETE); a server that is gone must not hold the deactivation up.
        _ = _session.DisposeAsync().AsTask();
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
        if (Unreachable(server) is { } refused)
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
        ScheduleChecks();
        logger.LogDebug("Server {ServerId} registered at {Endpoint}", ServerId, server.Endpoint);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(McpServer server, bool keepProbeHeaders = false)
    {
        if (state.State.Server is not { } existing)
        {
            return WriteResult.NotFound;
        }
        if (Unreachable(server) is { } refused)
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
        ForgetChecksOf(existing, server);
        ScheduleChecks();
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
        ScheduleChecks();
        logger.LogInformation("Server {ServerId} deleted ({Reason})", ServerId, reason);
        DeactivateOnIdle();
        return true;
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
            LastProbe = _lastProbe,
            LastScrape = _lastScrape,
            LastHealthReport = _lastReport,
            Tools = state.State.KnownTools ?? [],
            LastToolSetChange = state.State.LastToolSetChange,
            Series = Telemetry.Window.Series(now),
        };
    }

    /// <summary>A refusal when an address the server names can never be reached under the outbound policy (metadata, link-local).</summary>
    private WriteResult? Unreachable(McpServer server)
    {
        var errors = new List<FieldError>();
        foreach (var (field, url) in new[] { ("endpoint", server.Endpoint), ("metricsUrl", server.MetricsUrl), ("healthUrl", server.HealthUrl) })
        {
            if (url is not null && outbound.LiteralRefusal(url) is { } reason)
            {
                errors.Add(new FieldError(field, $"can never be reached: {reason}"));
            }
        }
        return errors.Count > 0 ? WriteResult.Invalid([.. errors]) : null;
    }

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
        _listed = null;
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

    /// <summary>The window, the cumulative series and the history, kept in memory and written behind.</summary>
    private ServerTelemetry Telemetry => _telemetry ??= new ServerTelemetry(options.Value.MetricWindow, windowState, historyState, ServerId, logger);
}
