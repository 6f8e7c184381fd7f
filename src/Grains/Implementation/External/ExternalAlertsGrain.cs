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

    private static readonly TimeSpan ReportRetry = TimeSpan.FromSeconds(5);
    private const int ReportBatch = 256;

    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private Task? _reporting;
    private DateTimeOffset? _reportRetryAt;
    private GroupCommit? _commits;
    private DueTimer? _timer;
    private WriteBehind? _writeBehind;
    private GrainReminder? _reminder;
    private readonly Dictionary<string, ExternalAlertRecord> _alerts = new(StringComparer.Ordinal);

    /// <summary>Alerts changed, and alerts removed, since the last write: the next write stores exactly these.</summary>
    private readonly HashSet<string> _unsaved = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unsavedRemovals = new(StringComparer.Ordinal);

    private Dictionary<string, ExternalAlertRecord> Alerts => _alerts;
    private int Partition => (int)this.GetPrimaryKeyLong();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var (fingerprint, alert) in await store.LoadAsync(Partition)) _alerts[fingerprint] = alert;
        await MoveLegacyAlertsAsync();
        var now = time.GetUtcNow();
        Reminder.Registered = Alerts.Count > 0;
        // What was accepted but perhaps never told (a silo lost between the two) is told now.
        foreach (var (fingerprint, alert) in Alerts)
        {
            if (ExternalAlertLife.StatusOf(alert, now) != alert.ReportedStatus || alert.Episode != alert.ReportedEpisode) _dirty.Add(fingerprint);
        }
        StartReporting();
        ArmTimer();
    }

    /// <summary>Alerts stored in the partition's grain state (before the row store) move into the store, once.</summary>
    private async Task MoveLegacyAlertsAsync()
    {
        if (state.State.Alerts.Count == 0) return;
        foreach (var (fingerprint, alert) in state.State.Alerts)
        {
            // A row already in the store is newer: the move was cut short after storing it.
            if (_alerts.TryAdd(fingerprint, alert)) Changed(fingerprint);
        }
        await CommitAsync();
        logger.LogInformation("External alerts partition {Partition}: moved {Count} alerts from its grain state into the alert store", Partition, state.State.Alerts.Count);
        state.State.Alerts = new(StringComparer.Ordinal);
        await state.WriteStateAsync();
    }

    private void Changed(string fingerprint)
    {
        _unsaved.Add(fingerprint);
        _unsavedRemovals.Remove(fingerprint);
    }

    private void Removed(string fingerprint)
    {
        _alerts.Remove(fingerprint);
        _unsaved.Remove(fingerprint);
        _unsavedRemovals.Add(fingerprint);
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
            Changed(posted.Fingerprint);
            if (ExternalAlertLife.StatusOf(known, now) != known.ReportedStatus || known.Episode != known.ReportedEpisode) _dirty.Add(posted.Fingerprint);
        }
        await CommitAsync();
        await Reminder.SyncAsync(Alerts.Count > 0);
        StartReporting();
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
        Changed(fingerprint);
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
        _dirty.Add(fingerprint);
        Changed(fingerprint);
        logger.LogInformation("External alert {Fingerprint} resolved by {By}", fingerprint, by ?? "hand");
        await CommitAsync();
        StartReporting();
        ArmTimer();
        return WriteResult.Ok;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Incidents store joins behind: the reminder says again what every unresolved alert is.
        var now = time.GetUtcNow();
        foreach (var (fingerprint, alert) in Alerts)
        {
            if (alert.EndsAt > now) _dirty.Add(fingerprint);
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
            var look = ExternalAlertLife.Look(alert, () => Muting.Mutes.SilencedBy(set, alert.Labels, now), _dirty.Contains(fingerprint), now);
            if (look.HasFlag(Rechecked.Changed)) Changed(fingerprint);
            if (look.HasFlag(Rechecked.Tell)) _dirty.Add(fingerprint);
            if (look.HasFlag(Rechecked.Remove)) Removed(fingerprint);
            if (look.HasFlag(Rechecked.Changed) || look.HasFlag(Rechecked.Remove)) Writes.Mark();
        }
        if (_reportRetryAt is { } retry && retry <= now) _reportRetryAt = null;
        StartReporting();
        await Reminder.SyncAsync(Alerts.Count > 0);
        ArmTimer();
    }

    private void StartReporting()
    {
        if (_reporting is null && _dirty.Count > 0 && _reportRetryAt is null) _reporting = ReportAsync();
    }

    /// <summary>Tells incidents and inhibitors what changed, a batch at a time, the calls of a batch together.</summary>
    private async Task ReportAsync()
    {
        try
        {
            await Task.Yield();
            while (_dirty.Count > 0 && !stopping.IsStopping)
            {
                var batch = _dirty.Take(ReportBatch).ToArray();
                foreach (var fingerprint in batch) _dirty.Remove(fingerprint);
                var set = await routing.GetAsync();
                var now = time.GetUtcNow();
                var calls = new List<Task>(batch.Length);
                var changed = false;
                foreach (var fingerprint in batch)
                {
                    if (Alerts.TryGetValue(fingerprint, out var alert) && Report(fingerprint, alert, set, now, calls))
                    {
                        Changed(fingerprint);
                        changed = true;
                    }
                }
                try
                {
                    await Task.WhenAll(calls);
                }
                catch (Exception e)
                {
                    foreach (var fingerprint in batch) _dirty.Add(fingerprint);
                    _reportRetryAt = time.GetUtcNow() + ReportRetry;
                    logger.LogWarning(e, "External alerts partition {Partition}: {Count} alerts not yet told to their incidents; will try again",
                        this.GetPrimaryKeyLong(), batch.Length);
                    break;
                }
                if (changed) Writes.Mark();
            }
        }
        finally
        {
            _reporting = null;
            ArmTimer();
        }
    }

    /// <summary>
    /// Tells the alert's incidents (and the inhibitors) what it is. Answers whether what is stored of it changed: a
    /// reminder's re-assertion of an unchanged alert keeps its sequence, so an incident that has it ignores it and one
    /// that lost it (a join stored behind) takes it again, and neither this partition nor the incident writes.
    /// </summary>
    private bool Report(string fingerprint, ExternalAlertRecord alert, RoutingSet set, DateTimeOffset now, List<Task> calls)
    {
        var status = ExternalAlertLife.StatusOf(alert, now);
        var alertId = ExternalAlerts.AlertId(fingerprint);
        var changed = false;
        var (source, tellInhibitors) = Dispatch.ToInhibitors(GrainFactory, set, alertId, alert.Labels, status != MemberStatus.Resolved, alert.Inhibiting);
        if (tellInhibitors is not null)
        {
            calls.Add(tellInhibitors);
            alert.Inhibiting = source;
            changed = true;
        }
        if (status == MemberStatus.Resolved && alert.ReportedStatus is null or MemberStatus.Resolved)
        {
            changed |= alert.ReportedStatus != status || alert.ReportedEpisode != alert.Episode;
            alert.ReportedStatus = status;
            alert.ReportedEpisode = alert.Episode;
            return changed; // never told as firing: nothing to take back
        }
        var routes = Dispatch.RoutesOf(set, status, alert.Labels, alert.Routes);
        if (ExternalAlertLife.IsNews(alert, status, routes))
        {
            alert.Sequence++;
            changed = true;
        }
        Dispatch.ToIncidents(GrainFactory, routes, alert.Routes, ExternalAlertLife.Member(fingerprint, alert, status), now, calls);
        alert.Routes = routes;
        alert.ReportedStatus = status;
        alert.ReportedEpisode = alert.Episode;
        return changed;
    }

    /// <summary>
    /// Stores the state and returns once a write that began after this call's changes has finished. Calls that arrive
    /// while a write runs share the next one: a storm of batches is a few writes, and none returns before its own.
    /// </summary>
    private Task CommitAsync() => (_commits ??= new GroupCommit(FlushAsync)).CommitAsync();

    private async Task FlushAsync()
    {
        if (_unsaved.Count > 0 || _unsavedRemovals.Count > 0)
        {
            KeyValuePair<string, ExternalAlertRecord>[] changed = [.. _unsaved.Where(Alerts.ContainsKey).Select(f => KeyValuePair.Create(f, Alerts[f]))];
            string[] removed = [.. _unsavedRemovals];
            _unsaved.Clear();
            _unsavedRemovals.Clear();
            try
            {
                await store.SaveAsync(Partition, changed, removed);
            }
            catch
            {
                // Not stored: the next write carries them, unless they changed the other way meanwhile.
                foreach (var (fingerprint, _) in changed) if (!_unsavedRemovals.Contains(fingerprint)) _unsaved.Add(fingerprint);
                foreach (var fingerprint in removed) if (!_unsaved.Contains(fingerprint)) _unsavedRemovals.Add(fingerprint);
                throw;
            }
        }
    }

    /// <summary>What reporting changed (what incidents were told) is stored behind: if it is lost, the alert is told again.</summary>
    private WriteBehind Writes => _writeBehind ??= new WriteBehind(this, _ => CommitAsync(), TimeSpan.FromSeconds(1));

    private void ArmTimer()
    {
        var due = ExternalAlertLife.NextLook(Alerts.Values, time.GetUtcNow());
        if (_reportRetryAt is { } retry && (due is null || retry < due)) due = retry;
        (_timer ??= new DueTimer(this, TickAsync, time)).Set(due);
    }

    /// <summary>While it holds alerts, the partition's reminder brings it back after a silo is lost, to resolve and report on time.</summary>
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, ReminderName, options.Value.ReminderPeriod, logger);
}
