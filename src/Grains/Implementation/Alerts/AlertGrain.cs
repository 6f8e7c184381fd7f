using Microsoft.Extensions.Options;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Rules;
using Monitoring.Observability;
using Monitoring.Settings;
using Monitoring.Silences;

namespace Monitoring.Alerts;

/// <summary>
/// The alert of one rule on one server: a thin shell around <see cref="AlertLifecycle"/>. It gathers the lifecycle's
/// inputs (the matching silence, the rule's escalation policy), stores the next state, appends transitions to the
/// history, hands notifications to their channels, and schedules itself for the next deadline with a grain timer.
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

    /// <summary>Restored data counts as after the alert's start only this much after it (silos' clocks differ a little).</summary>
    private static readonly TimeSpan RestoredDataMargin = TimeSpan.FromSeconds(1);
    private readonly List<TransitionRow> _history = [];
    private DueTimer? _timer;
    private GrainReminder? _reminder;
    private AlertReports? _reports;
    private WriteBehind? _writeBehind;
    private (int Sequence, AlertStatus Status)? _listed;
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
        Writes.Pending && !(durability.Volatile && reason.ReasonCode == DeactivationReasonCode.ShuttingDown) ? WriteAsync() : Task.CompletedTask;

    public async Task<Observed> ObserveAsync(Observation observation)
    {
        var now = time.GetUtcNow();
        S.Rule = observation.Rule;
        S.Server = observation.Server;
        var condition = observation.Condition;
        if (condition == ConditionResult.NoData && observation.RestoredClearThrough is { } through && S.Life.IsOpen
            && (S.Life.PendingSince ?? S.Life.FiredAt) is { } began && through > began + RestoredDataMargin)
        {
            // The server came back with a stored window whose data reaches past this alert's start and is clear: that
            // is what the server saw after the breach (an activation lost before it could say so), not older data.
            condition = ConditionResult.Clear;
        }
        var mayFire = condition == ConditionResult.Holds;
        var inputs = await InputsAsync(now, refreshSilence: mayFire || S.Life.IsOpen, mayFire);
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
        return AlertJournal.View(AlertId, S, now, S.Life.Values, S.Life.Phase == AlertPhase.Firing ? await InhibitedByAsync() : null);
    }

    public Task<WriteResult> AcknowledgeAsync(string? by) =>
        ActAsync(false, (life, inputs, now) => AlertLifecycle.Acknowledge(life, by, inputs, now));

    /// <summary>Resolves by hand; whoever asked tells the server (<see cref="AlertCommands.ResolveAsync"/>), so a condition that still holds opens a new episode.</summary>
    public Task<WriteResult> ResolveAsync(string? by) =>
        ActAsync(true, (life, inputs, now) => AlertLifecycle.Resolve(life, by, inputs, now));

    public Task<WriteResult> SuppressAsync(TimeSpan duration, string? by)
    {
        if (duration <= TimeSpan.Zero || duration > AlertLifecycle.MaxSuppression)
        {
            return Task.FromResult(WriteResult.Invalid("duration", $"must be more than 0s and at most {Durations.Format(AlertLifecycle.MaxSuppression)}"));
        }
        return ActAsync(false, (life, inputs, now) => AlertLifecycle.Suppress(life, duration, by, inputs, now));
    }

    public async Task CloseAsync(string reason)
    {
        if (S.Rule is null || !S.Life.IsOpen) return;
        var now = time.GetUtcNow();
        await ApplyAsync(AlertLifecycle.Close(S.Life, reason, await InputsAsync(now, refreshSilence: true, mayFire: false), now), now);
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
        await ApplyAsync(AlertLifecycle.Tick(S.Life, await InputsAsync(now, refreshSilence: S.Life.IsOpen, mayFire: S.Life.Phase == AlertPhase.Pending), now), now);
    }

    private async Task<WriteResult> ActAsync(bool refreshSilence, Func<AlertLife, AlertInputs, DateTimeOffset, AlertOutcome> act)
    {
        if (S.Rule is null) return WriteResult.NotFound;
        var now = time.GetUtcNow();
        var outcome = act(S.Life, await InputsAsync(now, refreshSilence, mayFire: false), now);
        if (outcome.Refusal is { } refusal) return WriteResult.Conflict(refusal);
        await ApplyAsync(outcome, now);
        return WriteResult.Ok;
    }

    /// <summary>When an open alert may sleep (<see cref="AlertJournal.SleepsUntil"/>), or null while this activation has work in hand.</summary>
    private DateTimeOffset? SleepsUntil(DateTimeOffset now) =>
        Reminder.InDoubt || !Reminder.Settled.IsCompleted || _history.Count > 0 || stopping.IsStopping
            ? null
            : AlertJournal.SleepsUntil(S, NextDue(now), options.Value.ReminderPeriod, MaxSleep, now);

    /// <summary>The silence matching now (or the last known, when the catalog cannot be read), and the rule's policy when the alert may fire.</summary>
    private async Task<AlertInputs> InputsAsync(DateTimeOffset now, bool refreshSilence, bool mayFire)
    {
        var rule = S.Rule!;
        var silence = AlertJournal.KnownSilence(S.Life);
        if (refreshSilence)
        {
            try
            {
                silence = await mutes.SilenceOfAsync(Labels(), now);
            }
            catch (Exception e)
            {
                // Without the catalog, keep what was known: a silence stays in force rather than letting a flood through.
                logger.LogWarning(e, "Alert {AlertId} could not read the silences; keeping the last known", AlertId);
            }
        }
        EscalationPolicy? policy = null;
        if (mayFire && rule.EscalationPolicy is { } policyId)
        {
            policy = await GrainFactory.GetGrain<IEscalationPolicyGrain>(policyId).GetAsync();
            if (policy is null) logger.LogWarning("Alert {AlertId}: escalation policy {PolicyId} does not exist; only the rule's channels are told", AlertId, policyId);
        }
        return new AlertInputs(rule, policy, silence);
    }

    /// <summary>Takes the lifecycle's next state, carries out its effects, and stores what matters.</summary>
    private async Task ApplyAsync(AlertOutcome outcome, DateTimeOffset now)
    {
        var before = S.Life;
        S.Life = outcome.State;
        var inhibitedBy = outcome.Effects.Any(AlertJournal.Inhibitable) ? await InhibitedByAsync() : null;
        var recorded = false;
        foreach (var effect in outcome.Effects)
        {
            switch (AlertJournal.Inhibit(effect, inhibitedBy))
            {
                case TransitionEffect t:
                    Record(t, now);
                    break;
                case PageEffect page:
                    Page(page, now);
                    recorded |= effect is PageEffect { WithheldBy: null }; // held by an inhibition, its record is stored all the same
                    break;
                case PagePeopleEffect people:
                    recorded |= await PagePeopleAsync(people, now);
                    break;
            }
        }
        if (S.Life.Paging.AcknowledgedAt is not null || !S.Life.IsOpen) CancelFollowUps(now, S.Life.IsOpen ? "acknowledged" : "resolved");
        // Store before hand-off: a message leaves this grain only once it, and the state that made it, are stored, so a
        // silo lost between the two loses neither the alert nor the message (it is handed over again, and the channel,
        // which keeps its key, answers that it has it).
        if (recorded)
        {
            S.UpdatedAt = now;
            S.HandOffRetryAt ??= now + HandOffRetry; // a new activation's timer hands over what this one could not
            await StoreAsync();
        }
        var outboxBefore = S.Outbox.Count + S.Cancelling.Count;
        var reportedBefore = (S.ReportedStatus, S.ReportedEpisode, S.ReportDue, S.Inhibiting, S.Routes.Length);
        await HandOffAsync(now);
        await ReportAsync(now);
        var handedOrReported = S.Outbox.Count + S.Cancelling.Count != outboxBefore || SenderBook.HasWork(S)
            || reportedBefore != (S.ReportedStatus, S.ReportedEpisode, S.ReportDue, S.Inhibiting, S.Routes.Length);
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
        await AppendHistoryAsync();
        // The listing changes only with the sequence or the status; an evaluation that changed neither writes nothing.
        var listed = (S.Life.Sequence, AlertLifecycle.StatusAt(S.Life, now));
        if (_listed != listed)
        {
            var rule = S.Rule!;
            await listings.UpsertAsync(new AlertEntry(AlertId, rule.Id, S.Server!.Id, rule.Name, rule.Severity, listed.Item2, rule.Message, S.Life.FiredAt, now, S.Life.Sequence));
            _listed = listed;
        }
        await Reminder.SyncAsync(WantsReminder());
        Timer.Set(NextDue(now));
    }

    private DueTimer Timer => _timer ??= new DueTimer(this, TickAsync, time);

    /// <summary>
    /// A reminder survives silo restarts: it brings the grain back to re-arm its timer. It is kept only for work the
    /// alert's server does not drive (<see cref="WantsReminder"/>).
    /// </summary>
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, LifecycleReminder, options.Value.ReminderPeriod, logger);

    private AlertReports Reports => _reports ??= new AlertReports(GrainFactory, routing, options.Value.ReminderPeriod, HandOffRetry, logger);

    /// <summary>Delivery reports are written behind: the channel's outbox is the durable truth of a delivery.</summary>
    private WriteBehind Writes => _writeBehind ??= new WriteBehind(this, _ => state.WriteStateAsync(), TimeSpan.FromSeconds(1));

    private Task WriteAsync() => Writes.WriteAsync();

    /// <summary>
    /// Stores a lifecycle step. One that cannot be stored (the storage is down) leaves this activation ahead of what is
    /// stored, with a status its server was not told and a message nobody was promised: the activation is dropped, so
    /// the next call reads what is stored, and the push that caused the step, refused, is sent again.
    /// </summary>
    private async Task StoreAsync()
    {
        try
        {
            await WriteAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private void MarkDirty() => Writes.Mark();

    private void Record(TransitionEffect effect, DateTimeOffset now)
    {
        var transition = effect.Transition;
        _history.Add(AlertJournal.Transition(AlertId, S, effect, now));
        MonitoringMetrics.AlertTransitions.WithLabels(transition.To.ToString().ToLowerInvariant()).Inc();
        logger.LogInformation("Alert {AlertId} {From} -> {To}: {Reason}", AlertId, transition.From, transition.To, transition.Reason);
    }

    private void Page(PageEffect page, DateTimeOffset now)
    {
        if (AlertJournal.Page(AlertId, S, page, this.GetGrainId().ToString(), now))
        {
            logger.LogDebug("Alert {AlertId} episode {Episode}: {Kind} recorded for channel {ChannelId}", AlertId, S.Life.Episode, page.Kind, page.ChannelId);
        }
        else
        {
            MonitoringMetrics.Notifications.WithLabels("any", "silenced").Inc();
        }
    }

    /// <summary>
    /// Pages an escalation step's people (<see cref="OnCall.PeoplePager"/>): one message per contact, numbered as the
    /// lifecycle numbers its own, the later ones held by their channel until due. Answers whether any was recorded.
    /// </summary>
    private async Task<bool> PagePeopleAsync(PagePeopleEffect people, DateTimeOffset now)
    {
        var (contacts, notes) = await OnCall.PeoplePager.ResolveAsync(listings, people.Users, people.Schedules, now);
        foreach (var note in notes) logger.LogWarning("Alert {AlertId} level {Level}: {Note}", AlertId, people.Level, note);
        var recorded = AlertJournal.PagePeople(AlertId, S, people, contacts, this.GetGrainId().ToString(), now);
        if (contacts.Length > 0) logger.LogInformation("Alert {AlertId} level {Level} paged {People}", AlertId, people.Level, OnCall.PeoplePager.Describe(contacts));
        return recorded;
    }

    /// <summary>People's later pages not yet due are dropped: the page was answered, or the episode is over.</summary>
    private void CancelFollowUps(DateTimeOffset now, string reason)
    {
        if (S.FollowUps.Count == 0) return;
        SenderBook.CancelFollowUps(S, now, reason);
        MarkDirty();
    }

    /// <summary>Gives each recorded notification to its channel. What a channel could not take stays for the next try.</summary>
    private Task HandOffAsync(DateTimeOffset now) => SenderBook.HandOffAsync(GrainFactory, S, now, logger, $"Alert {AlertId}");

    private Dictionary<string, string> Labels() =>
        new(AlertLabels.Of(AlertId, S.Rule!.Id, S.Rule.Name, S.Server!.Id, S.Rule.Severity, S.Server.Labels), StringComparer.Ordinal);

    private async Task<string?> InhibitedByAsync()
    {
        try
        {
            return await mutes.InhibitedByAsync(AlertId, Labels());
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Alert {AlertId} could not read the inhibition rules; not inhibited", AlertId);
            return null;
        }
    }

    /// <summary>Tells its incidents and the inhibitors what changed (<see cref="AlertReports"/>); a failed report is tried again with the hand-off retry.</summary>
    private Task ReportAsync(DateTimeOffset now) => Reports.ReportAsync(AlertId, S, Labels(), now);

    /// <summary>
    /// Appends the transitions recorded since the last append to the history, after the state that holds them is
    /// written. A failed append is kept and tried again with the next write; the history skips what it has.
    /// </summary>
    private async Task AppendHistoryAsync()
    {
        if (_history.Count == 0) return;
        try
        {
            await history.AppendTransitionsAsync(_history);
            _history.Clear();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Alert {AlertId}: {Count} transitions not yet in the history; will try again", AlertId, _history.Count);
        }
    }

    /// <summary>The next moment something may become due, or null when nothing waits on time.</summary>
    private DateTimeOffset? NextDue(DateTimeOffset now)
    {
        if (S.Rule is not { } rule) return null;
        var due = AlertLifecycle.NextDue(S.Life, new AlertInputs(rule, null, AlertJournal.KnownSilence(S.Life)), now);
        if (Reminder.InDoubt) due = Earliest(due, now + HandOffRetry);
        return Earliest(due, S.HandOffRetryAt);
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>
    /// Work its server's evaluations do not bring back must survive a silo restart on its own: a notification not yet
    /// handed over (a resolved alert's last word included) and a report that failed. An open alert's next step is
    /// brought back by the server, which tells every open alert its condition at least once a reminder period.
    /// </summary>
    private bool WantsReminder() => SenderBook.HasWork(S) || S.ReportDue;
}
