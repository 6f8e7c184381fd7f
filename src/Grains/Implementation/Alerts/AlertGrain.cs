using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Settings;
using Monitoring.Listings;
using Monitoring.Silences;
using Monitoring.Observability;

namespace Monitoring.Alerts;

/// <summary>
/// The alert of one rule on one server. Inactive → pending (condition holds, waiting out <c>for</c>) → firing →
/// resolved; while firing it may be acknowledged, suppressed, silenced and escalated. A grain timer wakes it when
/// something is due (<c>for</c> elapsed, an escalation step, a repeat after cooldown, the end of a suppression or a
/// silence); a reminder brings it back after a silo restart while such work is pending.
/// Notifications are handed to their channels, which record them durably before sending; what a channel could not
/// take stays in this grain's state and is handed over again, and channels drop duplicates by idempotency key.
/// </summary>
[GrainType("alert")]
public sealed class AlertGrain(
    [PersistentState("alert", StorageNames.Alerts)] IPersistentState<AlertState> state,
    SilenceCache silences,
    History.IAlertHistory history,
    IListingStore listings,
    Microsoft.Extensions.Options.IOptions<MonitoringOptions> options,
    TimeProvider time,
    ILogger<AlertGrain> logger)
    : Grain, IAlertGrain, IRemindable
{
    private const int MaxTransitions = 100;
    private const int MaxDeliveries = 100;
    private const string LifecycleReminder = "lifecycle";
    private static readonly TimeSpan MaxSuppression = TimeSpan.FromDays(30);
    private static readonly TimeSpan HandOffRetry = TimeSpan.FromSeconds(30);
    private IGrainTimer? _timer;
    private bool _reminderRegistered;
    private Silence[] _silences = [];
    private readonly List<History.TransitionRow> _history = [];
    private bool _reportsDirty;
    private (int Sequence, AlertStatus Status)? _listed;
    private IGrainTimer? _reportTimer;
    private AlertState S => state.State;
    private string AlertId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        _reminderRegistered = WantsReminder(now);
        ArmTimer(now);
        return Task.CompletedTask;
    }

    public async Task<AlertPhase> ObserveAsync(Observation observation)
    {
        var now = time.GetUtcNow();
        S.Rule = observation.Rule;
        S.Server = observation.Server;
        if (observation.Holds || S.IsOpen)
        {
            await RefreshSilenceAsync(now);
        }
        var before = S.StatusAt(now);
        S.LastHeld = observation.Holds;
        S.LastObservedAt = now;
        if (observation.Holds || S.IsOpen)
        {
            S.Values = observation.Values;
        }

        if (observation.Holds)
        {
            if (S.Phase is AlertPhase.Inactive or AlertPhase.Resolved)
            {
                S.Phase = AlertPhase.Pending;
                S.PendingSince = now;
                Record(before, now, "condition holds");
            }
        }
        else if (S.Phase == AlertPhase.Pending)
        {
            S.Phase = AlertPhase.Inactive;
            S.PendingSince = null;
            Record(before, now, "condition cleared before 'for' elapsed");
        }
        else if (S.Phase == AlertPhase.Firing && S.Rule.AutoResolve)
        {
            Resolve(now, "condition cleared");
        }

        await AdvanceAsync(now);
        return S.Phase;
    }

    public Task<AlertView?> GetAsync()
    {
        if (S.Rule is null || S.Server is null)
        {
            return Task.FromResult<AlertView?>(null);
        }
        var now = time.GetUtcNow();
        var silenced = S.Phase == AlertPhase.Firing && S.IsSilencedAt(now);
        return Task.FromResult<AlertView?>(new AlertView(
            AlertId, S.Rule.Id, S.Server.Id, S.Rule.Name, S.Rule.Severity, S.StatusAt(now), S.Rule.Message, S.Episode,
            S.PendingSince, S.FiredAt, S.ResolvedAt, S.AcknowledgedAt, S.AcknowledgedBy, S.EscalatedAt, S.SuppressedUntil,
            S.NotificationCount, S.LastNotifiedAt, S.Values, S.Server.Labels, S.UpdatedAt, [.. S.Transitions])
        {
            SilencedBy = silenced ? S.SilencedBy : null,
            SilencedUntil = silenced ? S.SilencedUntil : null,
            EscalationPolicy = S.Policy?.Id ?? S.Rule.EscalationPolicy,
            EscalationLevel = S.Policy is { } policy && S.PolicyStep > 0 ? (S.PolicyStep - 1) % policy.Levels.Length + 1 : 0,
            NextEscalationAt = S.Phase == AlertPhase.Firing && S.AcknowledgedAt is null && S.Policy is { } p && S.PolicyStep < p.TotalSteps
                ? S.NextPolicyStepAt
                : null,
        });
    }

    public async Task<WriteResult> AcknowledgeAsync(string? by)
    {
        if (S.Rule is null) return WriteResult.NotFound;
        var now = time.GetUtcNow();
        if (S.Phase != AlertPhase.Firing)
        {
            return WriteResult.Conflict($"only a firing alert can be acknowledged; this one is {S.StatusAt(now).ToString().ToLowerInvariant()}");
        }
        if (S.AcknowledgedAt is not null)
        {
            return WriteResult.Ok;
        }
        var before = S.StatusAt(now);
        S.AcknowledgedAt = now;
        S.AcknowledgedBy = by;
        Record(before, now, by is null ? "acknowledged" : $"acknowledged by {by}");
        await AdvanceAsync(now);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> ResolveAsync(string? by)
    {
        if (S.Rule is null) return WriteResult.NotFound;
        var now = time.GetUtcNow();
        if (!S.IsOpen)
        {
            return WriteResult.Conflict($"only a pending or firing alert can be resolved; this one is {S.StatusAt(now).ToString().ToLowerInvariant()}");
        }
        await RefreshSilenceAsync(now);
        Resolve(now, by is null ? "resolved by hand" : $"resolved by {by}");
        await AdvanceAsync(now);
        return WriteResult.Ok;
    }

    public async Task<WriteResult> SuppressAsync(TimeSpan duration, string? by)
    {
        if (S.Rule is null) return WriteResult.NotFound;
        if (duration <= TimeSpan.Zero || duration > MaxSuppression)
        {
            return WriteResult.Invalid("duration", $"must be more than 0s and at most {Durations.Format(MaxSuppression)}");
        }
        var now = time.GetUtcNow();
        var before = S.StatusAt(now);
        S.SuppressedUntil = now + duration;
        Record(before, now, $"suppressed for {Durations.Format(duration)}{(by is null ? "" : $" by {by}")}");
        await AdvanceAsync(now);
        return WriteResult.Ok;
    }

    public async Task CloseAsync(string reason)
    {
        if (!S.IsOpen)
        {
            return;
        }
        var now = time.GetUtcNow();
        await RefreshSilenceAsync(now);
        var before = S.StatusAt(now);
        if (S.Phase == AlertPhase.Pending)
        {
            S.Phase = AlertPhase.Inactive;
            S.PendingSince = null;
            Record(before, now, reason);
        }
        else
        {
            Resolve(now, reason);
        }
        await AdvanceAsync(now);
    }

    public Task ReportDeliveryAsync(DeliveryRecord record)
    {
        var index = S.Deliveries.FindIndex(d => d.IdempotencyKey == record.IdempotencyKey);
        if (index < 0)
        {
            return Task.CompletedTask; // aged out of the list
        }
        var known = S.Deliveries[index];
        // One-way reports may arrive out of order: a final state is never replaced by an earlier one.
        if (known.IsFinal && !record.IsFinal || record.UpdatedAt < known.UpdatedAt)
        {
            return Task.CompletedTask;
        }
        S.Deliveries[index] = record;
        // Written behind: the channel's outbox is the durable truth of a delivery; this is the alert's view of it.
        if (!_reportsDirty)
        {
            _reportsDirty = true;
            _reportTimer ??= this.RegisterGrainTimer(_ => FlushReportsAsync(), new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
            _reportTimer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        }
        return Task.CompletedTask;
    }

    private async Task FlushReportsAsync()
    {
        if (!_reportsDirty) return;
        _reportsDirty = false;
        await state.WriteStateAsync();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => FlushReportsAsync();

    public Task<DeliveryRecord[]> GetNotificationsAsync() => Task.FromResult(S.Deliveries.ToArray());

    public Task ReceiveReminder(string reminderName, TickStatus status) => TickAsync();

    private async Task TickAsync()
    {
        if (S.Rule is null)
        {
            return;
        }
        var now = time.GetUtcNow();
        if (S.IsOpen)
        {
            await RefreshSilenceAsync(now);
        }
        await AdvanceAsync(now);
    }

    /// <summary>Looks up the silences matching this alert now, and records the alert entering or leaving one.</summary>
    private async Task RefreshSilenceAsync(DateTimeOffset now)
    {
        if (S.Rule is not { } rule || S.Server is not { } server)
        {
            return;
        }
        try
        {
            _silences = await silences.MatchingAsync(GrainFactory, AlertLabels.Of(AlertId, rule.Id, rule.Name, server.Id, rule.Severity, server.Labels), now);
        }
        catch (Exception e)
        {
            // Without the catalog, keep what was known: a silence stays in force rather than letting a flood through.
            logger.LogWarning(e, "Alert {AlertId} could not read the silences; keeping the last known", AlertId);
            return;
        }
        var before = S.StatusAt(now);
        if (S.SilencedBy is not null && before == AlertStatus.Firing)
        {
            before = AlertStatus.Silenced; // the silence ran out on its own just now
        }
        var silence = _silences.FirstOrDefault();
        S.SilencedUntil = silence?.EndsAt;
        S.SilencedBy = silence?.Id;
        if (silence is not null)
        {
            Record(before, now, $"silenced by {silence.Id} until {silence.EndsAt:u}");
        }
        else if (before == AlertStatus.Silenced)
        {
            Record(before, now, "silence ended");
        }
    }

    /// <summary>Does whatever time has made due, then saves, hands notifications over, updates the index and re-arms the timer.</summary>
    private async Task AdvanceAsync(DateTimeOffset now)
    {
        var rule = S.Rule!;
        if (S.Phase == AlertPhase.Pending && S.LastHeld && now - S.PendingSince >= rule.For)
        {
            var before = S.StatusAt(now);
            S.Phase = AlertPhase.Firing;
            S.Episode++;
            S.FiredAt = now;
            S.ResolvedAt = null;
            S.AcknowledgedAt = null;
            S.AcknowledgedBy = null;
            S.EscalatedAt = null;
            S.FiringNotified = false;
            S.FiringSilenced = false;
            S.NotifiedChannels.Clear();
            await StartPolicyAsync(rule, now);
            Record(before, now, $"condition held for {Durations.Format(rule.For)}");
        }

        if (S.Phase == AlertPhase.Firing && !(S.SuppressedUntil > now))
        {
            var silenced = S.IsSilencedAt(now);
            var cooledDown = S.LastFiringNotifiedAt is null || now - S.LastFiringNotifiedAt >= rule.Cooldown;
            if (!S.FiringNotified && cooledDown)
            {
                if (!silenced)
                {
                    Notify(NotificationKind.Firing, rule.Channels, now);
                    S.FiringNotified = true;
                    S.LastFiringNotifiedAt = now;
                }
                else if (!S.FiringSilenced)
                {
                    Withhold(NotificationKind.Firing, rule.Channels, now);
                    S.FiringSilenced = true;
                }
            }
            else if (S.FiringNotified && rule.Cooldown > TimeSpan.Zero && cooledDown && S.AcknowledgedAt is null && !silenced)
            {
                Notify(NotificationKind.Repeat, rule.Channels, now);
                S.LastFiringNotifiedAt = now;
            }

            if (S.Policy is null && rule.EscalateAfter is { } after && S.AcknowledgedAt is null && S.EscalatedAt is null && now - S.FiredAt >= after)
            {
                var before = S.StatusAt(now);
                S.EscalatedAt = now;
                Record(before, now, $"unacknowledged for {Durations.Format(after)}");
                var channels = rule.EscalationChannels.Length > 0 ? rule.EscalationChannels : rule.Channels;
                if (silenced) Withhold(NotificationKind.Escalation, channels, now);
                else Notify(NotificationKind.Escalation, channels, now);
            }
            RunPolicy(now, silenced);
        }

        // The channels record what they take before they send it; this grain's one write then keeps what they
        // did not take, for the next try.
        await HandOffAsync(now);
        S.UpdatedAt = now;
        _reportsDirty = false;
        await state.WriteStateAsync();
        await AppendHistoryAsync();
        // The listing changes only with the sequence or the status; an evaluation that changed neither writes nothing.
        var listed = (S.Sequence, S.StatusAt(now));
        if (_listed != listed)
        {
            await listings.UpsertAsync(new AlertEntry(AlertId, rule.Id, S.Server!.Id, rule.Name, rule.Severity, listed.Item2, rule.Message, S.FiredAt, now, S.Sequence));
            _listed = listed;
        }
        await SyncReminderAsync(now);
        ArmTimer(now);
    }

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

    /// <summary>Takes this episode's copy of the rule's policy; level 1 is due its delay after firing.</summary>
    private async Task StartPolicyAsync(Rules.AlertRule rule, DateTimeOffset now)
    {
        S.Policy = null;
        S.PolicyStep = 0;
        S.NextPolicyStepAt = null;
        if (rule.EscalationPolicy is not { } policyId)
        {
            return;
        }
        S.Policy = await GrainFactory.GetGrain<IEscalationPolicyGrain>(policyId).GetAsync();
        if (S.Policy is not { Levels.Length: > 0 } policy)
        {
            logger.LogWarning("Alert {AlertId}: escalation policy {PolicyId} does not exist; only the rule's channels are told", AlertId, policyId);
            S.Policy = null;
            return;
        }
        S.NextPolicyStepAt = now + policy.DelayBefore(0);
    }

    /// <summary>Tells every policy level whose time has come, unless the alert is acknowledged.</summary>
    private void RunPolicy(DateTimeOffset now, bool silenced)
    {
        while (S.Policy is { } policy && S.AcknowledgedAt is null && S.PolicyStep < policy.TotalSteps && S.NextPolicyStepAt <= now)
        {
            var step = S.PolicyStep;
            var level = step % policy.Levels.Length + 1;
            if (step > 0)
            {
                var before = S.StatusAt(now);
                S.EscalatedAt ??= now;
                Record(before, now, $"escalated to level {level} of {policy.Id}");
            }
            var channels = policy.LevelOf(step).Channels;
            if (silenced) Withhold(NotificationKind.Escalation, channels, now, level);
            else Notify(NotificationKind.Escalation, channels, now, level);
            S.PolicyStep++;
            S.NextPolicyStepAt = S.PolicyStep < policy.TotalSteps ? S.NextPolicyStepAt + policy.DelayBefore(S.PolicyStep) : null;
        }
    }

    private void Resolve(DateTimeOffset now, string reason)
    {
        var before = S.StatusAt(now);
        var wasFiring = S.Phase == AlertPhase.Firing;
        S.Phase = AlertPhase.Resolved;
        S.ResolvedAt = now;
        S.PendingSince = null;
        Record(before, now, reason);
        if (!wasFiring || S.SuppressedUntil > now)
        {
            return;
        }
        if (S.IsSilencedAt(now))
        {
            // A silence sends nothing, unless it opted in to the resolved message; then everyone who was or would
            // have been told hears it.
            var channels = S.NotifiedChannels.Concat(S.FiringSilenced ? S.Rule!.Channels : []).Distinct().ToArray();
            if (_silences.Any(s => s.SendResolved)) Notify(NotificationKind.Resolved, channels, now);
            else Withhold(NotificationKind.Resolved, channels, now);
        }
        else if (S.FiringNotified || S.NotifiedChannels.Count > 0)
        {
            Notify(NotificationKind.Resolved, [.. S.NotifiedChannels], now);
        }
    }

    private Notification Compose(NotificationKind kind, string channelId, DateTimeOffset now, int level)
    {
        var rule = S.Rule!;
        var server = S.Server!;
        var status = kind switch
        {
            NotificationKind.Resolved => "resolved",
            NotificationKind.Escalation when S.EscalatedAt is not null => "escalated",
            _ => "firing",
        };
        S.Sequence++;
        return new Notification(
            AlertId, rule.Id, rule.Name, server.Id, server.Name, rule.Severity, kind, status, rule.Message, S.Episode,
            S.FiredAt ?? now, now, S.Values, server.Labels, rule.Condition, S.Sequence)
        {
            Templates = rule.Templates,
            EscalationLevel = level,
        };
    }

    private void Notify(NotificationKind kind, string[] channels, DateTimeOffset now, int level = 0)
    {
        foreach (var channelId in channels)
        {
            var notification = Compose(kind, channelId, now, level);
            S.Outbox.Add(new HandOff(channelId, notification));
            Track(new DeliveryRecord(notification.IdempotencyKey, AlertId, channelId, kind, DeliveryState.Pending, 0, now, now, null));
            S.NotifiedChannels.Add(channelId);
            S.NotificationCount++;
            S.LastNotifiedAt = now;
        }
        logger.LogInformation("Alert {AlertId} episode {Episode}: {Kind} recorded for {ChannelCount} channels", AlertId, S.Episode, kind, channels.Length);
    }

    /// <summary>A message a silence holds back: listed as silenced, never sent.</summary>
    private void Withhold(NotificationKind kind, string[] channels, DateTimeOffset now, int level = 0)
    {
        foreach (var channelId in channels)
        {
            var notification = Compose(kind, channelId, now, level);
            Track(new DeliveryRecord(notification.IdempotencyKey, AlertId, channelId, kind, DeliveryState.Silenced, 0, now, now, $"silenced by {S.SilencedBy}"));
        }
        MonitoringMetrics.Notifications.WithLabels("any", "silenced").Inc(channels.Length);
    }

    private void Track(DeliveryRecord record)
    {
        S.Deliveries.Insert(0, record);
        if (S.Deliveries.Count > MaxDeliveries)
        {
            S.Deliveries.RemoveRange(MaxDeliveries, S.Deliveries.Count - MaxDeliveries);
        }
    }

    /// <summary>Gives each recorded notification to its channel. What a channel could not take stays for the next try.</summary>
    private async Task HandOffAsync(DateTimeOffset now)
    {
        if (S.Outbox.Count == 0)
        {
            S.HandOffRetryAt = null;
            return;
        }
        var pending = S.Outbox.ToList();
        var outcomes = await Task.WhenAll(pending.Select(async handOff =>
        {
            var (channelId, notification) = handOff;
            try
            {
                return await GrainFactory.GetGrain<INotificationChannelGrain>(channelId).EnqueueAsync(notification);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Alert {AlertId}: channel {ChannelId} did not take {IdempotencyKey}; will try again", AlertId, channelId, notification.IdempotencyKey);
                return (EnqueueOutcome?)null;
            }
        }));
        for (var i = 0; i < pending.Count; i++)
        {
            if (outcomes[i] is not { } outcome) continue;
            S.Outbox.Remove(pending[i]);
            if (outcome == EnqueueOutcome.UnknownChannel)
            {
                var key = pending[i].Notification.IdempotencyKey;
                var index = S.Deliveries.FindIndex(d => d.IdempotencyKey == key);
                if (index >= 0)
                {
                    S.Deliveries[index] = S.Deliveries[index] with { State = DeliveryState.Failed, UpdatedAt = now, LastError = "the channel does not exist" };
                }
                logger.LogWarning("Alert {AlertId}: notification {IdempotencyKey} is for a channel that does not exist", AlertId, key);
            }
        }
        S.HandOffRetryAt = S.Outbox.Count > 0 ? now + HandOffRetry : null;
    }

    private void Record(AlertStatus before, DateTimeOffset now, string reason)
    {
        var after = S.StatusAt(now);
        if (after == before)
        {
            return;
        }
        S.Sequence++;
        S.Transitions.Add(new AlertTransition(before, after, now, reason));
        if (S.Transitions.Count > MaxTransitions)
        {
            S.Transitions.RemoveRange(0, S.Transitions.Count - MaxTransitions);
        }
        _history.Add(new History.TransitionRow(AlertId, S.Rule!.Id, S.Server!.Id, S.Rule.Severity.ToString().ToLowerInvariant(),
            before.ToString().ToLowerInvariant(), after.ToString().ToLowerInvariant(), reason, S.Episode, S.Sequence, now));
        MonitoringMetrics.AlertTransitions.WithLabels(after.ToString().ToLowerInvariant()).Inc();
        logger.LogInformation("Alert {AlertId} {From} -> {To}: {Reason}", AlertId, before, after, reason);
    }

    /// <summary>The next moment something may become due, or null when nothing waits on time.</summary>
    private DateTimeOffset? NextDue(DateTimeOffset now)
    {
        var rule = S.Rule;
        if (rule is null) return null;
        var candidates = new List<DateTimeOffset>();
        if (S.HandOffRetryAt is { } retry)
        {
            candidates.Add(retry);
        }
        if (S.Phase == AlertPhase.Pending && S.LastHeld && S.PendingSince is { } since)
        {
            candidates.Add(since + rule.For);
        }
        if (S.Phase == AlertPhase.Firing)
        {
            if (S.SilencedUntil is { } silencedUntil && silencedUntil > now)
            {
                candidates.Add(silencedUntil);
            }
            if (S.SuppressedUntil is { } until && until > now)
            {
                candidates.Add(until);
            }
            else
            {
                if (!S.FiringNotified && S.LastFiringNotifiedAt is { } last)
                {
                    candidates.Add(last + rule.Cooldown);
                }
                if (S.FiringNotified && S.AcknowledgedAt is null && rule.Cooldown > TimeSpan.Zero && S.LastFiringNotifiedAt is { } sent)
                {
                    candidates.Add(sent + rule.Cooldown);
                }
                if (S.Policy is null && rule.EscalateAfter is { } after && S.AcknowledgedAt is null && S.EscalatedAt is null && S.FiredAt is { } fired)
                {
                    candidates.Add(fired + after);
                }
                if (S.Policy is not null && S.AcknowledgedAt is null && S.NextPolicyStepAt is { } step)
                {
                    candidates.Add(step);
                }
            }
        }
        return candidates.Count == 0 ? null : candidates.Min();
    }

    private void ArmTimer(DateTimeOffset now)
    {
        var due = NextDue(now);
        if (due is null)
        {
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }
        var delay = due.Value - now;
        if (delay < TimeSpan.Zero) delay = TimeSpan.Zero;
        _timer ??= this.RegisterGrainTimer(_ => TickAsync(), new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Work waiting on time (a firing alert's next step, a notification not yet handed over) must survive a silo restart.</summary>
    private bool WantsReminder(DateTimeOffset now) => (S.Phase == AlertPhase.Firing || S.Outbox.Count > 0) && NextDue(now) is not null;

    /// <summary>A reminder survives silo restarts: it brings the grain back to re-arm its timer.</summary>
    private async Task SyncReminderAsync(DateTimeOffset now)
    {
        var wanted = WantsReminder(now);
        if (wanted == _reminderRegistered)
        {
            return;
        }
        if (wanted)
        {
            await this.RegisterOrUpdateReminder(LifecycleReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        }
        else if (await this.GetReminder(LifecycleReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
        _reminderRegistered = wanted;
    }
}
