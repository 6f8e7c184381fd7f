using Microsoft.Extensions.Options;
using Monitoring.Common;
using Monitoring.Routing;
using Monitoring.Settings;
using Monitoring.Silences;

namespace Monitoring.External;

/// <summary>
/// One partition of the alerts that Prometheus and other Alertmanager clients post, with Alertmanager's semantics: an
/// alert is its label set; a re-send that overlaps the known one merges with it (earliest start, an explicit end over
/// a timed-out one); it fires until its end passes. Accepted alerts are stored before the call returns, a row per alert
/// (<see cref="IExternalAlertStore"/>: a batch writes what it changed; concurrent batches share one write). Each alert
/// then tells the incidents the routing tree puts it in when it starts firing, is silenced or resolves, exactly as the
/// product's own alerts do, and the inhibitors when it may inhibit others.
/// </summary>
[GrainType("externalalerts"), Reentrant]
public sealed class ExternalAlertsGrain(
    [PersistentState("externalalerts", StorageNames.Alerts)] IPersistentState<ExternalAlertsState> state,
    IExternalAlertStore store,
    RoutingCache routing,
    Muting.Mutes mutes,
    IOptions<MonitoringOptions> options,
    SiloStopping stopping,
    TimeProvider time,
    ILogger<ExternalAlertsGrain> logger)
    : Grain, IExternalAlertsGrain, IRemindable
{
    private const string ReminderName = "externalalerts";
    private ExternalAlertRows? _rows;
    private ExternalAlertReporter? _reporter;
    private DueTimer? _timer;
    private WriteBehind? _writeBehind;
    private GrainReminder? _reminder;

    private int Partition => (int)this.GetPrimaryKeyLong();
    private ExternalAlertRows Rows => _rows ??= new ExternalAlertRows(store, Partition);
    private Dictionary<string, ExternalAlertRecord> Alerts => Rows.Alerts;

    /// <summary>Tells incidents and inhibitors what changed; what telling changed is stored behind.</summary>
    private ExternalAlertReporter Reporter => _reporter ??=
        new ExternalAlertReporter(GrainFactory, routing, Rows, stopping, time, logger, Partition, () => Writes.Mark(), ArmTimer);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await Rows.LoadAsync();
        await MoveLegacyAlertsAsync();
        var now = time.GetUtcNow();
        Reminder.Registered = Alerts.Count > 0;
        // What was accepted but perhaps never told (a silo lost between the two) is told now.
        foreach (var (fingerprint, alert) in Alerts)
        {
            if (ExternalAlertLife.StatusOf(alert, now) != alert.ReportedStatus || alert.Episode != alert.ReportedEpisode) Reporter.Due(fingerprint);
        }
        Reporter.Start(now);
        ArmTimer();
    }

    /// <summary>Alerts stored in the partition's grain state (before the row store) move into the store, once.</summary>
    private async Task MoveLegacyAlertsAsync()
    {
        if (state.State.Alerts.Count == 0) return;
        // A row already in the store is newer: the move was cut short after storing it.
        foreach (var (fingerprint, alert) in state.State.Alerts) Rows.Adopt(fingerprint, alert);
        await CommitAsync();
        logger.LogInformation("External alerts partition {Partition}: moved {Count} alerts from its grain state into the alert store", Partition, state.State.Alerts.Count);
        state.State.Alerts = new(StringComparer.Ordinal);
        await state.WriteStateAsync();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        Writes.Pending ? CommitAsync() : Task.CompletedTask;

    public async Task AcceptAsync(PostedAlert[] alerts)
    {
        var set = await mutes.SilencesAsync();
        var now = time.GetUtcNow();
        // From here to the commit nothing awaits: a batch is applied whole, never interleaved with another.
        foreach (var posted in alerts)
        {
            var known = Alerts[posted.Fingerprint] = ExternalAlertLife.Take(Alerts.GetValueOrDefault(posted.Fingerprint), posted, now);
            known.SilencedBy = known.EndsAt > now ? Muting.Mutes.SilencedBy(set, known.Labels, now) : [];
            Rows.Changed(posted.Fingerprint);
            if (ExternalAlertLife.StatusOf(known, now) != known.ReportedStatus || known.Episode != known.ReportedEpisode) Reporter.Due(posted.Fingerprint);
        }
        await CommitAsync();
        await Reminder.SyncAsync(Alerts.Count > 0);
        Reporter.Start(time.GetUtcNow());
        ArmTimer();
    }

    public Task<ExternalAlertView[]> ListAsync()
    {
        var now = time.GetUtcNow();
        return Task.FromResult<ExternalAlertView[]>([.. Alerts
            .Where(a => a.Value.EndsAt > now)
            .Select(a => new ExternalAlertView(a.Key, a.Value.Labels, a.Value.Annotations, a.Value.StartsAt, a.Value.EndsAt, a.Value.UpdatedAt,
                a.Value.GeneratorUrl, a.Value.SilencedBy, a.Value.AcknowledgedAt, a.Value.AcknowledgedBy, [.. a.Value.Routes.Select(r => r.IncidentId)]))]);
    }

    public async Task<WriteResult> AcknowledgeAsync(string fingerprint, string? by)
    {
        var now = time.GetUtcNow();
        if (!Alerts.TryGetValue(fingerprint, out var alert)) return WriteResult.NotFound;
        if (alert.EndsAt <= now) return WriteResult.Conflict("only a firing alert can be acknowledged; this one resolved");
        if (alert.AcknowledgedAt is not null) return WriteResult.Ok;
        alert.AcknowledgedAt = now;
        alert.AcknowledgedBy = by;
        Rows.Changed(fingerprint);
        await CommitAsync();
        return WriteResult.Ok;
    }

    /// <summary>Ends the alert now; if its source still fires it, its next re-send opens a new episode.</summary>
    public async Task<WriteResult> ResolveAsync(string fingerprint, string? by)
    {
        var now = time.GetUtcNow();
        if (!Alerts.TryGetValue(fingerprint, out var alert)) return WriteResult.NotFound;
        if (alert.EndsAt <= now) return WriteResult.Conflict("this alert is already resolved");
        alert.EndsAt = now;
        alert.Timeout = false;
        alert.SilencedBy = [];
        Reporter.Due(fingerprint);
        Rows.Changed(fingerprint);
        logger.LogInformation("External alert {Fingerprint} resolved by {By}", fingerprint, by ?? "hand");
        await CommitAsync();
        Reporter.Start(time.GetUtcNow());
        ArmTimer();
        return WriteResult.Ok;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Incidents store joins behind: the reminder says again what every unresolved alert is.
        var now = time.GetUtcNow();
        foreach (var (fingerprint, alert) in Alerts)
        {
            if (alert.EndsAt > now) Reporter.Due(fingerprint);
        }
        await TickAsync();
    }

    public Task SilencesChangedAsync() => Alerts.Count == 0 ? Task.CompletedTask : TickAsync();

    private async Task TickAsync()
    {
        if (stopping.IsStopping) return;
        var now = time.GetUtcNow();
        var set = await mutes.SilencesAsync();
        now = time.GetUtcNow();
        foreach (var (fingerprint, alert) in Alerts.ToArray())
        {
            var look = ExternalAlertLife.Look(alert, () => Muting.Mutes.SilencedBy(set, alert.Labels, now), Reporter.IsDue(fingerprint), now);
            if (look.HasFlag(Rechecked.Changed)) Rows.Changed(fingerprint);
            if (look.HasFlag(Rechecked.Tell)) Reporter.Due(fingerprint);
            if (look.HasFlag(Rechecked.Remove)) Rows.Remove(fingerprint);
            if (look.HasFlag(Rechecked.Changed) || look.HasFlag(Rechecked.Remove)) Writes.Mark();
        }
        Reporter.Start(now);
        await Reminder.SyncAsync(Alerts.Count > 0);
        ArmTimer();
    }

    /// <summary>Stores what changed; calls that arrive while a write runs share the next (<see cref="ExternalAlertRows.CommitAsync"/>).</summary>
    private Task CommitAsync() => Rows.CommitAsync();

    /// <summary>What reporting changed (what incidents were told) is stored behind: if it is lost, the alert is told again.</summary>
    private WriteBehind Writes => _writeBehind ??= new WriteBehind(this, _ => CommitAsync(), TimeSpan.FromSeconds(1));

    private void ArmTimer()
    {
        var due = ExternalAlertLife.NextLook(Alerts.Values, time.GetUtcNow());
        if (Reporter.RetryAt is { } retry && (due is null || retry < due)) due = retry;
        (_timer ??= new DueTimer(this, TickAsync, time)).Set(due);
    }

    /// <summary>While it holds alerts, the partition's reminder brings it back after a silo is lost, to resolve and report on time.</summary>
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, ReminderName, options.Value.ReminderPeriod, logger);
}
