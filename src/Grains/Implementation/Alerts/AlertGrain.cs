using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Hosting;
using Monitoring.Indexing;
using Monitoring.Telemetry;

namespace Monitoring.Alerts;

/// <summary>
/// The alert of one rule on one server. Inactive → pending (condition holds, waiting out <c>for</c>) → firing →
/// resolved; while firing it may be acknowledged, suppressed and escalated. A grain timer wakes it when something
/// is due (<c>for</c> elapsed, escalation, repeat after cooldown, end of suppression); a reminder brings it back
/// after a silo restart while such work is pending.
/// </summary>
public sealed class AlertGrain(
    [PersistentState("alert", StorageNames.Alerts)] IPersistentState<AlertState> state,
    TimeProvider time,
    ILogger<AlertGrain> logger)
    : Grain, IAlertGrain, IRemindable
{
    private const int MaxTransitions = 100;
    private const string LifecycleReminder = "lifecycle";
    private static readonly TimeSpan MaxSuppression = TimeSpan.FromDays(30);
    private IGrainTimer? _timer;
    private bool _reminderRegistered;
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
        var before = S.StatusAt(now);
        S.Rule = observation.Rule;
        S.Server = observation.Server;
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
                before = S.StatusAt(now);
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
        return Task.FromResult<AlertView?>(new AlertView(
            AlertId, S.Rule.Id, S.Server.Id, S.Rule.Name, S.Rule.Severity, S.StatusAt(now), S.Rule.Message, S.Episode,
            S.PendingSince, S.FiredAt, S.ResolvedAt, S.AcknowledgedAt, S.AcknowledgedBy, S.EscalatedAt, S.SuppressedUntil,
            S.NotificationCount, S.LastNotifiedAt, S.Values, S.Server.Labels, S.UpdatedAt, [.. S.Transitions]));
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

    public Task ReceiveReminder(string reminderName, TickStatus status) => TickAsync();

    private Task TickAsync() => S.Rule is null ? Task.CompletedTask : AdvanceAsync(time.GetUtcNow());

    /// <summary>Does whatever time has made due, then saves, updates the index and re-arms the timer.</summary>
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
            S.NotifiedChannels.Clear();
            Record(before, now, $"condition held for {Durations.Format(rule.For)}");
        }

        if (S.Phase == AlertPhase.Firing && !(S.SuppressedUntil > now))
        {
            var cooledDown = S.LastFiringNotifiedAt is null || now - S.LastFiringNotifiedAt >= rule.Cooldown;
            if (!S.FiringNotified && cooledDown)
            {
                Notify(NotificationKind.Firing, rule.Channels, now);
                S.FiringNotified = true;
                S.LastFiringNotifiedAt = now;
            }
            else if (S.FiringNotified && rule.Cooldown > TimeSpan.Zero && cooledDown && S.AcknowledgedAt is null)
            {
                Notify(NotificationKind.Repeat, rule.Channels, now);
                S.LastFiringNotifiedAt = now;
            }

            if (rule.EscalateAfter is { } after && S.AcknowledgedAt is null && S.EscalatedAt is null && now - S.FiredAt >= after)
            {
                var before = S.StatusAt(now);
                S.EscalatedAt = now;
                Record(before, now, $"unacknowledged for {Durations.Format(after)}");
                Notify(NotificationKind.Escalation, rule.EscalationChannels.Length > 0 ? rule.EscalationChannels : rule.Channels, now);
            }
        }

        S.UpdatedAt = now;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IIndexGrain<AlertEntry>>(IndexShards.KeyFor(AlertEntry.Kind, AlertId)).UpsertAsync(new AlertEntry(
            AlertId, rule.Id, S.Server!.Id, rule.Name, rule.Severity, S.StatusAt(now), rule.Message, S.FiredAt, now, S.Sequence));
        await SyncReminderAsync(now);
        ArmTimer(now);
    }

    private void Resolve(DateTimeOffset now, string reason)
    {
        var before = S.StatusAt(now);
        var wasFiring = S.Phase == AlertPhase.Firing;
        S.Phase = AlertPhase.Resolved;
        S.ResolvedAt = now;
        S.PendingSince = null;
        Record(before, now, reason);
        if (wasFiring && S.FiringNotified && !(S.SuppressedUntil > now))
        {
            Notify(NotificationKind.Resolved, [.. S.NotifiedChannels], now);
        }
    }

    private void Notify(NotificationKind kind, string[] channels, DateTimeOffset now)
    {
        var rule = S.Rule!;
        var server = S.Server!;
        var status = kind switch
        {
            NotificationKind.Resolved => "resolved",
            NotificationKind.Escalation => "escalated",
            _ => "firing",
        };
        foreach (var channelId in channels)
        {
            S.Sequence++;
            var notification = new Notification(
                AlertId, rule.Id, rule.Name, server.Id, server.Name, rule.Severity, kind, status, rule.Message, S.Episode,
                S.FiredAt ?? now, now, S.Values, server.Labels, rule.Condition, S.Sequence);
            _ = GrainFactory.GetGrain<INotificationChannelGrain>(channelId).NotifyAsync(notification);
            S.NotifiedChannels.Add(channelId);
            S.NotificationCount++;
            S.LastNotifiedAt = now;
        }
        logger.LogInformation("Alert {AlertId} episode {Episode}: {Kind} sent to {ChannelCount} channels", AlertId, S.Episode, kind, channels.Length);
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
        MonitoringMetrics.AlertTransitions.WithLabels(after.ToString().ToLowerInvariant()).Inc();
        logger.LogInformation("Alert {AlertId} {From} -> {To}: {Reason}", AlertId, before, after, reason);
    }

    /// <summary>The next moment something may become due, or null when nothing waits on time.</summary>
    private DateTimeOffset? NextDue(DateTimeOffset now)
    {
        var rule = S.Rule;
        if (rule is null) return null;
        var candidates = new List<DateTimeOffset>();
        if (S.Phase == AlertPhase.Pending && S.LastHeld && S.PendingSince is { } since)
        {
            candidates.Add(since + rule.For);
        }
        if (S.Phase == AlertPhase.Firing)
        {
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
                if (rule.EscalateAfter is { } after && S.AcknowledgedAt is null && S.EscalatedAt is null && S.FiredAt is { } fired)
                {
                    candidates.Add(fired + after);
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

    /// <summary>Only a firing alert with work waiting on time needs to survive a silo restart.</summary>
    private bool WantsReminder(DateTimeOffset now) => S.Phase == AlertPhase.Firing && NextDue(now) is not null;

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
            await this.RegisterOrUpdateReminder(LifecycleReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        }
        else if (await this.GetReminder(LifecycleReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
        _reminderRegistered = wanted;
    }
}
