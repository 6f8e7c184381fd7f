using Microsoft.Extensions.Options;
using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Common;
using Monitoring.Observability;
using Monitoring.Settings;

namespace Monitoring.Routing;

/// <summary>
/// One route's alerts with the same group labels. It waits <c>group_wait</c> after its first alert, then sends its
/// receiver one message listing every alert; after that it looks again every <c>group_interval</c> and sends an update
/// when the set changed, a repeat after <c>repeat_interval</c> of no change, and one resolved message when every alert
/// resolved. Silenced, suppressed and inhibited alerts are kept but never listed. The receiver's escalation policy runs
/// once per incident; acknowledging the incident stops it (<see cref="AlertCommands"/> acknowledges its alerts). Messages are recorded in the
/// stored state before they are handed to channels, under keys that never change, so a silo lost mid-flush sends
/// each message once.
/// </summary>
[GrainType("incident")]
public sealed class IncidentGrain(
    [PersistentState("incident", StorageNames.Alerts)] IPersistentState<IncidentState> state,
    RoutingCache routing,
    ChannelRoutes channels,
    Muting.Mutes mutes,
    Listings.IListingStore listings,
    IOptions<MonitoringOptions> options,
    SiloStopping stopping,
    IncidentWakeups wakeups,
    StateDurability durability,
    TimeProvider time,
    ILogger<IncidentGrain> logger)
    : Grain, IIncidentGrain, IRemindable
{
    private const string ReminderName = "incident";
    private static readonly TimeSpan JoinWriteDelay = TimeSpan.FromSeconds(1);
    private WriteBehind? _writeBehind;
    private GrainReminder? _reminder;
    private string[] _inhibited = [];
    private IncidentSummary? _indexed;
    private IncidentRecorder? _recorder;
    private IncidentState S => state.State;
    private string IncidentId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Reminder.Registered = WantsReminder();
        ScheduleWakeUp();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        Writes.Pending ? WriteAsync() : Task.CompletedTask;

    public async Task UpdateAsync(RouteMatch route, IncidentMember member)
    {
        var now = time.GetUtcNow();
        S.Route = route;
        if (S.Members.TryGetValue(member.AlertId, out var known) && known.Sequence >= member.Sequence) return;
        if (member.Status == MemberStatus.Resolved && known is null) return; // never part of this episode: nothing to tell
        var opens = !S.IsOpen;
        S.Members[member.AlertId] = member;
        if (opens)
        {
            Open(route, now);
            if (S.NextFlushAt <= now && !stopping.IsStopping)
            {
                // No group wait: the first message is recorded with the opening, in one write, and handed over. The
                // opening is stored (and the reminder and wake-up set) even if recording the message failed part way.
                try
                {
                    await FlushAsync(now);
                    await EscalateAsync(now);
                }
                finally
                {
                    await CommitAsync(now);
                }
                return;
            }
            await WriteAsync();
            Index(now);
            await Reminder.SyncAsync(WantsReminder());
        }
        else
        {
            MarkDirty(); // the next flush (its wake-up is set while the incident is open) tells what changed
            Index(now); // the listing says what the incident says now, not at the next flush
        }
        ScheduleWakeUp();
    }

    public async Task<IncidentView?> GetAsync()
    {
        if (S.Route is null) return null;
        _inhibited = await mutes.InhibitedAmongAsync(S.Members.Values);
        return IncidentJournal.View(IncidentId, S, _inhibited);
    }

    public async Task<WriteResult> AcknowledgeAsync(string? by)
    {
        if (!S.IsOpen) return S.Route is null ? WriteResult.NotFound : WriteResult.Conflict("only an open incident can be acknowledged; this one is resolved");
        if (S.AcknowledgedAt is not null) return WriteResult.Ok;
        var now = time.GetUtcNow();
        await ActAsync(null, AggregationGroup.Acknowledge(S, by, now), now);
        await WriteAsync();
        if (S.Cancelling.Count > 0) await HandOffAsync(now); // stored first, so a cancel not confirmed is tried again
        Index(now);
        ScheduleWakeUp();
        return WriteResult.Ok; // each alert keeps its own status: whoever asked acknowledges them (AlertCommands)
    }

    public async Task<WriteResult> ResolveAsync(string? by)
    {
        if (!S.IsOpen) return S.Route is null ? WriteResult.NotFound : WriteResult.Conflict("this incident is already resolved");
        var now = time.GetUtcNow();
        await ActAsync(null, AggregationGroup.Resolve(S, by, now), now);
        await FlushAsync(now);
        await CommitAsync(now);
        return WriteResult.Ok; // whoever asked resolves the alerts that were open (AlertCommands)
    }

    public Task ReportDeliveryAsync(DeliveryRecord record)
    {
        if (SenderBook.TakeReport(S, record)) MarkDirty();
        return Task.CompletedTask;
    }

    /// <summary>
    /// The reminder's tick also says the incident's summary again: the index stores behind, so a summary it lost with
    /// its silo comes back within a reminder period (an unchanged one costs the index no write).
    /// </summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => TickAsync(reassert: true);

    public Task WakeAsync() => TickAsync(reassert: false);

    public async Task RearmAsync()
    {
        await Reminder.EnsureAsync(WantsReminder());
        await TickAsync(reassert: true);
    }

    private async Task TickAsync(bool reassert)
    {
        if (S.Route is null || stopping.IsStopping) return;
        var now = time.GetUtcNow();
        if (reassert) _indexed = null;
        if (!SenderBook.HasWork(S) && (NextDue() is not { } due || due > now))
        {
            // A reminder's tick with nothing due keeps the incident alive and changes nothing: no write. An open
            // incident's state is a few KB, and ten thousand of them rewritten every reminder period is a load of its own.
            Index(now);
            await Reminder.SyncAsync(WantsReminder());
            ScheduleWakeUp();
            return;
        }
        await FlushAsync(now);
        await EscalateAsync(now);
        await CommitAsync(now);
    }

    private void Open(RouteMatch route, DateTimeOffset now)
    {
        Recorder.Event(now, "opened", AggregationGroup.Open(S, route, S.Members.Keys.First(), now));
        MonitoringMetrics.Incidents.WithLabels("opened").Inc();
    }

    /// <summary>Tells the receiver what changed, if the group's time has come: <see cref="AggregationGroup"/> decides, this acts.</summary>
    private async Task FlushAsync(DateTimeOffset now)
    {
        if (!S.IsOpen || S.NextFlushAt is not { } due || due > now || S.Route is not { } route) return;
        var (set, receiver) = await ReceiverAsync();
        _inhibited = await mutes.InhibitedAmongAsync(S.Members.Values);
        var inputs = new FlushInputs(receiver, route.GroupInterval, route.RepeatInterval, _inhibited.ToHashSet(StringComparer.Ordinal), Muting.Mutes.TimeIntervalOf(set, route, now));
        await ActAsync(receiver, AggregationGroup.Flush(S, inputs, now), now);
    }

    /// <summary>Tells each escalation step that came due: <see cref="AggregationGroup.Escalate"/> decides, this acts.</summary>
    private async Task EscalateAsync(DateTimeOffset now)
    {
        if (S.Policy?.DueStep(S.PolicyStep, S.NextPolicyStepAt, now) is null) return;
        var (_, receiver) = await ReceiverAsync();
        await ActAsync(receiver, AggregationGroup.Escalate(S, receiver, _inhibited.ToHashSet(StringComparer.Ordinal), now), now);
    }

    /// <summary>Carries out the group's decisions, in order (<see cref="IncidentRecorder"/>).</summary>
    private async Task ActAsync(Receiver? receiver, IReadOnlyList<GroupAction> actions, DateTimeOffset now)
    {
        foreach (var action in actions) await Recorder.ActAsync(receiver, action, now);
    }

    /// <summary>The routing tree in force and the route's receiver in it (null once the receiver is gone).</summary>
    private async Task<(RoutingSet, Receiver?)> ReceiverAsync()
    {
        var set = await routing.GetAsync();
        return (set, S.Route?.Receiver is { } name ? set.Receivers.FirstOrDefault(r => r.Name == name) : null);
    }

    private IncidentRecorder Recorder => _recorder ??= new IncidentRecorder(IncidentId, () => S, this.GetGrainId().ToString(), listings, GrainFactory, logger);

    /// <summary>
    /// Stores what changed, then hands the recorded messages over, then re-arms. That a channel took a message is not
    /// written on its own: the channel's report of the delivery, stored behind, carries it. If both are lost, the
    /// message is handed over again and the channel, which keeps its key, answers that it has it.
    /// </summary>
    private async Task CommitAsync(DateTimeOffset now)
    {
        await WriteAsync();
        if (SenderBook.HasWork(S) && await HandOffAsync(now)) MarkDirty(); // a message for a channel that does not exist
        Index(now);
        await Reminder.SyncAsync(WantsReminder());
        ScheduleWakeUp();
    }

    private Task<bool> HandOffAsync(DateTimeOffset now) => SenderBook.HandOffAsync(channels, S, now, logger, $"Incident {IncidentId}");

    /// <summary>Tells the index when what it lists changed (status, episode, counts): a message sent, or a delivery reported, is not news to it.</summary>
    private void Index(DateTimeOffset now)
    {
        if (IncidentJournal.Summary(IncidentId, S, now) is not { } summary) return;
        if (_indexed is { } last && last with { UpdatedAt = summary.UpdatedAt, GroupLabels = summary.GroupLabels } == summary) return;
        _indexed = summary;
        _ = GrainReferences.Of(GrainFactory).Get<IIncidentIndexGrain>(IIncidentIndexGrain.Key).UpsertAsync(summary);
    }

    /// <summary>Alerts joining an open incident are stored behind, at most once a second: a storm of joins is a few writes, not one each.</summary>
    private WriteBehind Writes => _writeBehind ??= new WriteBehind(this, _ => state.WriteStateAsync(), JoinWriteDelay);

    private Task WriteAsync() => Writes.WriteAsync();

    private void MarkDirty() => Writes.Mark();

    private DateTimeOffset? NextDue() =>
        AggregationGroup.NextDue(S) is { } due ? S.HandOffRetryAt is { } retry && retry < due ? retry : due : S.HandOffRetryAt;

    /// <summary>Asks the silo's wake-ups for the time the next thing is due (none while nothing is).</summary>
    private void ScheduleWakeUp() => wakeups.Set(IncidentId, NextDue());

    /// <summary>
    /// A reminder brings an open incident back after its silo is lost. In the embedded mode there is no other silo: the
    /// process holds the state, the reminders and the wake-ups alike and loses them together, and the wake-ups already
    /// bring back an incident put away, so a reminder would only cost (a timer and about 1.4 KB an incident).
    /// </summary>
    private bool WantsReminder() => !durability.Volatile && (S.IsOpen || SenderBook.HasWork(S));

    /// <summary>While the incident is open its reminder brings it back after a silo is lost, to send what is due.</summary>
    private GrainReminder Reminder => _reminder ??= new GrainReminder(this, ReminderName, options.Value.ReminderPeriod, logger);
}
