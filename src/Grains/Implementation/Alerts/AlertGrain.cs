using Microsoft.Extensions.Options;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Settings;

namespace Monitoring.Alerts;

/// <summary>
/// The alert of one rule on one server: a thin shell around <see cref="AlertLifecycle"/>. It gathers the lifecycle's
/// inputs (<see cref="AlertReads"/>), has its effects recorded (<see cref="AlertRecorder"/>), stores the next state
/// before it hands notifications to their channels, and schedules itself for the next deadline with a grain timer.
/// An open alert needs no reminder of its own: its server tells every awake open alert its condition at least once a
/// reminder period (and at once when something changed), which brings it back after a silo restart with the timer
/// armed again, and its shard's reminder brings the server back (<see cref="Servers.IServerShardGrain"/>). A quiet
/// open alert (nothing due within a reminder period, nothing in flight) goes to sleep: it deactivates, and its server
/// tells it again one reminder period before its next deadline, or when something changes. Only work its server does
/// not drive (a notification not yet taken by its channel, a report that failed) holds a reminder. Channels record
/// what they take before sending it; what a channel could not take stays here and is handed over again.
/// </summary>
[GrainType("alert")]
public sealed class AlertGrain(
    [PersistentState("alert", StorageNames.Alerts)] IPersistentState<AlertState> state,
    Muting.Mutes mutes,
    RoutingCache routing,
    Channels.Delivery.ChannelRoutes channels,
    IAlertHistory history,
    IListingStore listings,
    IOptions<MonitoringOptions> options,
    StateDurability durability,
    SiloStopping stopping,
    TimeProvider time,
    ILogger<AlertGrain> logger)
    : Grain, IAlertGrain, IRemindable
{
    private const string LifecycleReminder = "lifecycle";
    /// <summary>The longest a quiet open alert sleeps before its server tells it its condition again.</summary>
    private static readonly TimeSpan MaxSleep = TimeSpan.FromHours(1);
    private static readonly TimeSpan HandOffRetry = ChannelHandOff.Retry;

    private DueTimer? _timer;
    private GrainReminder? _reminder;
    private AlertReports? _reports;
    private WriteBehind? _writeBehind;
    private AlertRecorder? _recorder;
    private AlertReads? _reads;
    private AlertState S => state.State;
    private string AlertId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Reminder.Registered = WantsReminder();
        Timer.Set(NextDue(now));
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        Writes.Pending && !(durability.Volatile && reason.ReasonCode == DeactivationReasonCode.ShuttingDown) ? Writes.WriteAsync() : Task.CompletedTask;

    public async Task<Observed> ObserveAsync(Observation observation)
    {
        var now = time.GetUtcNow();
        S.Rule = observation.Rule;
        S.Server = observation.Server;
        var condition = AlertJournal.ConditionOf(observation, S.Life);
        var mayFire = condition == ConditionResult.Holds;
        var inputs = await Reads.InputsAsync(now, refreshSilence: mayFire || S.Life.IsOpen, mayFire);
        await ApplyAsync(AlertLifecycle.Observe(S.Life, condition, observation.Values, inputs, now), now);
        var sleeps = SleepsUntil(now);
        // Only an answer to its server puts an alert to sleep (what it holds is written as it deactivates), so the
        // server always knows when to wake it. After work the server did not drive (a timer, a person, a channel's
        // report) the alert stays awake until the server next tells it its condition, within a reminder period.
        if (sleeps is not null) DeactivateOnIdle();
        return new Observed(S.Life.Phase, sleeps);
    }

    /// <summary>The alert as it stands, with the values it was last told (<see cref="AlertCommands.ViewAsync"/> adds its server's latest).</summary>
    public async Task<AlertView?> GetAsync()
    {
        if (S.Rule is null || S.Server is null) return null;
        var now = time.GetUtcNow();
        return AlertJournal.View(AlertId, S, now, S.Life.Values, S.Life.Phase == AlertPhase.Firing ? await Reads.InhibitedByAsync() : null);
    }

    public Task<WriteResult> AcknowledgeAsync(string? by) =>
        ActAsync(false, (life, inputs, now) => AlertLifecycle.Acknowledge(life, by, inputs, now));

    /// <summary>Resolves by hand; whoever asked tells the server (<see cref="AlertCommands.ResolveAsync"/>), so a condition that still holds opens a new episode.</summary>
    public Task<WriteResult> ResolveAsync(string? by) =>
        ActAsync(true, (life, inputs, now) => AlertLifecycle.Resolve(life, by, inputs, now));

    public Task<WriteResult> SuppressAsync(TimeSpan duration, string? by) =>
        AlertLifecycle.SuppressionError(duration) is { } error
            ? Task.FromResult(WriteResult.Invalid("duration", error))
            : ActAsync(false, (life, inputs, now) => AlertLifecycle.Suppress(life, duration, by, inputs, now));

    public async Task CloseAsync(string reason)
    {
        if (S.Rule is null || !S.Life.IsOpen) return;
        var now = time.GetUtcNow();
        await ApplyAsync(AlertLifecycle.Close(S.Life, reason, await Reads.InputsAsync(now, refreshSilence: true, mayFire: false), now), now);
    }

    public Task ReportDeliveryAsync(DeliveryRecord record)
    {
        // Written behind: the channel's outbox is the durable truth of a delivery; this is the alert's view of it.
        if (SenderBook.TakeReport(S, record)) MarkDirty();
        // The last word on its notifications is often the last thing an open alert waits for: it says so, and may
        // sleep, when its server next tells it its condition (within a reminder period).
        return Task.CompletedTask;
    }

    public Task<DeliveryRecord[]> GetNotificationsAsync() => Task.FromResult(S.Deliveries.ToArray());

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // It ticked, so it exists: one no longer wanted (or left by a version that kept one for every firing alert) is removed.
        Reminder.Ticked();
        if (S.Rule is null)
        {
            await Reminder.SyncAsync(WantsReminder());
            return;
        }
        await TickAsync();
    }

    private async Task TickAsync()
    {
        if (S.Rule is null || stopping.IsStopping) return;
        var now = time.GetUtcNow();
        await ApplyAsync(AlertLifecycle.Tick(S.Life, await Reads.InputsAsync(now, refreshSilence: S.Life.IsOpen, mayFire: S.Life.Phase == AlertPhase.Pending), now), now);
    }

    private async Task<WriteResult> ActAsync(bool refreshSilence, Func<AlertLife, AlertInputs, DateTimeOffset, AlertOutcome> act)
    {
        if (S.Rule is null) return WriteResult.NotFound;
        var now = time.GetUtcNow();
        var outcome = act(S.Life, await Reads.InputsAsync(now, refreshSilence, mayFire: false), now);
        if (outcome.Refusal is { } refusal) return WriteResult.Conflict(refusal);
        await ApplyAsync(outcome, now);
        return WriteResult.Ok;
    }

    /// <summary>When an open alert may sleep (<see cref="AlertJournal.SleepsUntil"/>), or null while this activation has work in hand.</summary>
    private DateTimeOffset? SleepsUntil(DateTimeOffset now) =>
        Reminder.InDoubt || !Reminder.Settled.IsCompleted || Recorder.HasUnappended || stopping.IsStopping
            ? null
            : AlertJournal.SleepsUntil(S, NextDue(now), options.Value.ReminderPeriod, MaxSleep, now);

    /// <summary>Takes the lifecycle's next state, carries out its effects, and stores what matters.</summary>
    private async Task ApplyAsync(AlertOutcome outcome, DateTimeOffset now)
    {
        var before = S.Life;
        S.Life = outcome.State;
        var inhibitedBy = outcome.Effects.Any(AlertJournal.Inhibitable) ? await Reads.InhibitedByAsync() : null;
        var recorded = false;
        foreach (var effect in outcome.Effects) recorded |= await Recorder.RecordAsync(effect, inhibitedBy, now);
        if ((S.Life.Paging.AcknowledgedAt is not null || !S.Life.IsOpen) && Recorder.CancelFollowUps(now, S.Life.IsOpen ? "acknowledged" : "resolved")) MarkDirty();
        // Store before hand-off: a message leaves this grain only once it, and the state that made it, are stored, so a
        // silo lost between the two loses neither the alert nor the message (it is handed over again, and the channel,
        // which keeps its key, answers that it has it).
        if (recorded)
        {
            S.UpdatedAt = now;
            S.HandOffRetryAt ??= now + HandOffRetry; // a new activation's timer hands over what this one could not
            await StoreAsync();
        }
        // Each recorded message to its channel (what a channel could not take stays for the next try), then the word to
        // its incidents and the inhibitors (AlertReports; a failed report is tried again with the hand-off retry).
        var said = AlertJournal.Said(S);
        await SenderBook.HandOffAsync(channels, S, now, logger, $"Alert {AlertId}");
        await Reports.ReportAsync(AlertId, S, Reads.Labels(), now);
        var handedOrReported = AlertJournal.Said(S) != said || SenderBook.HasWork(S);
        if (recorded)
        {
            // What the hand-off and the report changed is stored behind: lost, the hand-off and the word are repeated.
            if (handedOrReported)
            {
                S.UpdatedAt = now;
                MarkDirty();
            }
        }
        else
        {
            // An evaluation that changed nothing but the latest values writes nothing: the values come back with the next one.
            var significant = outcome.Effects.Count > 0 || handedOrReported
                || outcome.State with { Values = before.Values, LastObservedAt = before.LastObservedAt } != before;
            if (significant || Writes.Pending)
            {
                S.UpdatedAt = now;
                await StoreAsync();
            }
        }
        await Recorder.AppendHistoryAsync();
        await Recorder.ListAsync(now);
        await Reminder.SyncAsync(WantsReminder());
        Timer.Set(NextDue(now));
    }

    private AlertRecorder Recorder => _recorder ??= new AlertRecorder(AlertId, () => S, this.GetGrainId().ToString(), history, listings, logger);

    private AlertReads Reads => _reads ??= new AlertReads(AlertId, () => S, mutes, GrainFactory, logger);

    private DueTimer Timer => _timer ??= new DueTimer(this, TickAsync, time);

    /// <summary>
    /// A reminder survives silo restarts: it brings the grain back to re-arm its timer. It is kept only for work the
    /// alert's server does not drive (<see cref="WantsReminder"/>).
    /// </summary>
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, LifecycleReminder, options.Value.ReminderPeriod, logger);

    private AlertReports Reports => _reports ??= new AlertReports(GrainFactory, routing, options.Value.ReminderPeriod, HandOffRetry, logger);

    /// <summary>Delivery reports are written behind: the channel's outbox is the durable truth of a delivery.</summary>
    private WriteBehind Writes => _writeBehind ??= new WriteBehind(this, _ => state.WriteStateAsync(), TimeSpan.FromSeconds(1));

    /// <summary>
    /// Stores a lifecycle step. One that cannot be stored (the storage is down) leaves this activation ahead of what is
    /// stored, with a status its server was not told and a message nobody was promised: the activation is dropped, so
    /// the next call reads what is stored, and the push that caused the step, refused, is sent again.
    /// </summary>
    private async Task StoreAsync()
    {
        try
        {
            await Writes.WriteAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private void MarkDirty() => Writes.Mark();

    private DateTimeOffset? NextDue(DateTimeOffset now) => AlertJournal.NextDue(S, Reminder.InDoubt, HandOffRetry, now);

    /// <summary>
    /// Work its server's evaluations do not bring back must survive a silo restart on its own: a notification not yet
    /// handed over (a resolved alert's last word included) and a report that failed. An open alert's next step is
    /// brought back by the server, which tells every open alert its condition at least once a reminder period.
    /// </summary>
    private bool WantsReminder() => SenderBook.HasWork(S) || S.ReportDue;
}
