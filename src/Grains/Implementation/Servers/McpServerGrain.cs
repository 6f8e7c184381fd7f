using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Common;
using Monitoring.Hosting;
using Monitoring.Indexing;
using Monitoring.Rules;
using Monitoring.Rules.Conditions;
using Monitoring.Telemetry;

namespace Monitoring.Servers;

[GenerateSerializer]
public sealed class McpServerState
{
    [Id(0)] public McpServer? Server { get; set; }

    /// <summary>Rules with an alert in pending or firing on this server: evaluated even when the condition is false, so they can clear.</summary>
    [Id(1)] public HashSet<string> OpenAlertRules { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One monitored MCP server: registration, a bounded metric window, and evaluation of the rules that select it.
/// Evaluation runs where the data lives; an alert grain is called only when its condition holds or it is open.
/// </summary>
public sealed class McpServerGrain(
    [PersistentState("server", StorageNames.Servers)] IPersistentState<McpServerState> state,
    IOptions<MonitoringOptions> options,
    TimeProvider time,
    ILogger<McpServerGrain> logger)
    : Grain, IMcpServerGrain, IRemindable
{
    private const string KeepAliveReminder = "keep-alive";
    private readonly MetricWindow _window = new(options.Value.MetricWindow);
    private RuleSet _rules = RuleSet.Empty;
    private IGrainTimer? _evaluationTimer;

    private string ServerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Server is not null)
        {
            _rules = await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync();
            StartEvaluationTimer();
        }
    }

    public async Task<WriteResult> RegisterAsync(McpServer server)
    {
        if (state.State.Server is not null)
        {
            return WriteResult.Duplicate(ServerId);
        }
        var now = time.GetUtcNow();
        await SaveAsync(server with { CreatedAt = now, UpdatedAt = now });
        _rules = await GrainFactory.GetGrain<IRuleCatalogGrain>(IRuleCatalogGrain.Key).GetAsync();
        await this.RegisterOrUpdateReminder(KeepAliveReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
        StartEvaluationTimer();
        logger.LogInformation("Server {ServerId} registered at {Endpoint}", ServerId, server.Endpoint);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> UpdateAsync(McpServer server)
    {
        if (state.State.Server is not { } existing)
        {
            return WriteResult.NotFound;
        }
        await SaveAsync(server with { CreatedAt = existing.CreatedAt, UpdatedAt = time.GetUtcNow() });
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
        await GrainFactory.GetGrain<IIndexGrain<ServerEntry>>(IndexShards.KeyFor(ServerEntry.Kind, ServerId)).RemoveAsync(ServerId);
        var reminder = await this.GetReminder(KeepAliveReminder);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
        _evaluationTimer?.Dispose();
        _evaluationTimer = null;
        logger.LogInformation("Server {ServerId} deleted", ServerId);
        DeactivateOnIdle();
        return true;
    }

    public Task<McpServer?> GetAsync() => Task.FromResult(state.State.Server);

    public Task<ServerStatus?> GetStatusAsync()
    {
        if (state.State.Server is not { } server)
        {
            return Task.FromResult<ServerStatus?>(null);
        }
        var snapshot = _window.Snapshot(time.GetUtcNow());
        return Task.FromResult<ServerStatus?>(new ServerStatus(
            server, snapshot.ToMetrics(), _window.LastRecordedAt, snapshot.RequestsInWindow, [.. state.State.OpenAlertRules.Select(r => AlertIds.For(r, ServerId))]));
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
        await EvaluateAsync();
        return new IngestResult(true, accepted, batch.Requests.Length - accepted);
    }

    public async Task EvaluateAsync()
    {
        if (state.State.Server is not { } server)
        {
            return;
        }
        var metrics = _window.Snapshot(time.GetUtcNow()).ToMetrics();
        var summary = new ServerSummary(server.Id, server.Name, server.Endpoint, server.Labels);
        var open = state.State.OpenAlertRules;
        var selected = new HashSet<string>(StringComparer.Ordinal);
        var observed = new List<(string RuleId, Task<AlertPhase> Phase)>();

        foreach (var rule in _rules.Rules)
        {
            if (!rule.Enabled || !rule.Selects(server.Labels))
            {
                continue;
            }
            selected.Add(rule.Id);
            var holds = server.Enabled && ConditionParser.Compile(rule.Condition).Evaluate(metrics);
            MonitoringMetrics.RuleEvaluations.WithLabels(holds ? "true" : "false").Inc();
            if (holds || open.Contains(rule.Id))
            {
                observed.Add((rule.Id, Alert(rule.Id).ObserveAsync(new Observation(rule, summary, holds, metrics))));
            }
        }

        // Open alerts whose rule was deleted, disabled or no longer selects this server are closed, not left firing.
        var orphaned = open.Where(ruleId => !selected.Contains(ruleId)).ToList();
        var closing = orphaned.Select(ruleId => Alert(ruleId).CloseAsync("rule no longer applies to this server"));

        await Task.WhenAll(observed.Select(o => (Task)o.Phase).Concat(closing));

        var changed = false;
        foreach (var ruleId in orphaned)
        {
            changed |= open.Remove(ruleId);
        }
        foreach (var (ruleId, phase) in observed)
        {
            changed |= phase.Result is AlertPhase.Pending or AlertPhase.Firing ? open.Add(ruleId) : open.Remove(ruleId);
        }
        if (changed)
        {
            await state.WriteStateAsync();
        }
    }

    public async Task RulesChangedAsync(RuleSet rules)
    {
        if (rules.Version <= _rules.Version)
        {
            return;
        }
        _rules = rules;
        await EvaluateAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // The reminder only brings the grain back after a silo restart; activation restarts evaluation.
        return Task.CompletedTask;
    }

    private IAlertGrain Alert(string ruleId) => GrainFactory.GetGrain<IAlertGrain>(AlertIds.For(ruleId, ServerId));

    private async Task SaveAsync(McpServer server)
    {
        state.State.Server = server;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IIndexGrain<ServerEntry>>(IndexShards.KeyFor(ServerEntry.Kind, ServerId)).UpsertAsync(new ServerEntry(server));
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
