using Monitoring.Channels;

namespace Monitoring.Routing;

/// <summary>What a flush decided, in order: the incident grain carries each out.</summary>
public abstract record GroupAction;

/// <summary>Record a message to the receiver (or, for a resolution, to every channel told this episode; for an escalation step, to its channels at its level).</summary>
public sealed record SendGroupMessage(NotificationKind Kind, string Status, string[] Channels, IncidentMember[] Alerts, int Level = 0) : GroupAction;

/// <summary>Page an escalation step's people (its users, and whoever is on call in its schedules) about these alerts.</summary>
public sealed record PageGroupPeople(Escalation.EscalationStep Step, IncidentMember[] Alerts) : GroupAction;

/// <summary>A line of the incident's timeline.</summary>
public sealed record NoteGroupEvent(string Kind, string Text) : GroupAction;

/// <summary>People's later pages not yet due are dropped: the page was answered.</summary>
public sealed record CancelGroupPages(string Reason) : GroupAction;

/// <summary>Every alert resolved: the episode ends (and people's later pages with it).</summary>
public sealed record CloseGroup(string Reason) : GroupAction;

/// <summary>The first message went out unacknowledged: the receiver's escalation policy starts now.</summary>
public sealed record StartGroupPolicy(string PolicyId) : GroupAction;

/// <summary>What a flush reads besides the group's own state: the receiver, the route's timing, who is inhibited, a time interval that mutes.</summary>
public sealed record FlushInputs(Receiver? Receiver, TimeSpan GroupInterval, TimeSpan RepeatInterval, IReadOnlySet<string> Inhibited, string? MutedBy);

/// <summary>
/// Alertmanager's aggregation group, as a rule engine with no I/O: at each group interval it decides what the
/// receiver is told (the first message after group_wait, an update when the firing set changed or alerts resolved, a
/// repeat after repeat_interval, one resolved message), what a time interval holds back, and when escalation starts.
/// It updates the group's state in place and answers the actions; the grain stores, records and hands off.
/// </summary>
public static class AggregationGroup
{
    /// <summary>
    /// Opens a new episode when the first alert joins a closed group: everything told in the last one is forgotten, and
    /// the first message is due after group_wait. Answers the timeline's line.
    /// </summary>
    public static string Open(IncidentState s, RouteMatch route, string firstAlertId, DateTimeOffset now)
    {
        s.Episode++;
        s.OpenedAt = now;
        s.ResolvedAt = null;
        s.FirstFlushAt = null;
        s.LastNotifiedAt = null;
        s.NotifiedFiring.Clear();
        s.NotifiedResolved.Clear();
        s.NotifiedChannels.Clear();
        s.AcknowledgedAt = null;
        s.AcknowledgedBy = null;
        s.Policy = null;
        s.PolicyStep = 0;
        s.NextPolicyStepAt = null;
        s.MutedSince = null;
        s.FollowUps.Clear();
        s.NextFlushAt = now + route.GroupWait;
        return $"episode {s.Episode} opened by {firstAlertId}; first message after {Common.Durations.Format(route.GroupWait)}";
    }

    /// <summary>Ends the episode: no members, nothing due, the escalation over.</summary>
    public static void Close(IncidentState s, DateTimeOffset now)
    {
        s.ResolvedAt = now;
        s.Members.Clear();
        s.NextFlushAt = null;
        s.Policy = null;
        s.NextPolicyStepAt = null;
    }

    /// <summary>
    /// Acknowledging an open group stops its escalation and its people's later pages; each alert keeps its own status
    /// (whoever asked acknowledges them). Acknowledging twice changes nothing.
    /// </summary>
    public static IReadOnlyList<GroupAction> Acknowledge(IncidentState s, string? by, DateTimeOffset now)
    {
        if (!s.IsOpen || s.AcknowledgedAt is not null) return [];
        s.AcknowledgedAt = now;
        s.AcknowledgedBy = by;
        return [
            new NoteGroupEvent("acknowledged", by is null ? "acknowledged; escalation stopped" : $"acknowledged by {by}; escalation stopped"),
            new CancelGroupPages(by is null ? "acknowledged" : $"acknowledged by {by}"),
        ];
    }

    /// <summary>
    /// Resolving an open group by hand resolves every alert still open in it now, and the receiver is told at once, not
    /// at the next group interval (the flush that follows decides the message and closes the episode).
    /// </summary>
    public static IReadOnlyList<GroupAction> Resolve(IncidentState s, string? by, DateTimeOffset now)
    {
        if (!s.IsOpen) return [];
        foreach (var member in s.Members.Values.Where(m => m.Status != MemberStatus.Resolved).ToArray())
        {
            s.Members[member.AlertId] = member with { Status = MemberStatus.Resolved, EndsAt = now };
        }
        s.NextFlushAt = now;
        return [new NoteGroupEvent("resolved", by is null ? "resolved by hand" : $"resolved by {by}")];
    }

    /// <summary>
    /// Escalation, once per group: the steps due by now are taken in order, each at its own time, from the first
    /// unacknowledged message until acknowledged or resolved. A step tells its channels at its level and pages its
    /// people about the alerts still firing (none firing, or no receiver: the step passes untold).
    /// </summary>
    public static IReadOnlyList<GroupAction> Escalate(IncidentState s, Receiver? receiver, IReadOnlySet<string> inhibited, DateTimeOffset now)
    {
        if (!s.IsOpen || s.AcknowledgedAt is not null || s.Policy is not { } policy) return [];
        var actions = new List<GroupAction>();
        while (policy.DueStep(s.PolicyStep, s.NextPolicyStepAt, now) is { } step)
        {
            (s.PolicyStep, s.NextPolicyStepAt) = (step.StepsTaken, step.NextAt);
            var firing = s.Members.Values.Where(m => m.Status == MemberStatus.Firing && !inhibited.Contains(m.AlertId)).ToArray();
            if (firing.Length == 0 || receiver is null) continue;
            if (step.Channels.Length > 0) actions.Add(new SendGroupMessage(NotificationKind.Escalation, step.Status, step.Channels, firing, step.Level));
            if (step.PagesPeople) actions.Add(new PageGroupPeople(step, firing));
            if (step.Escalates) actions.Add(new NoteGroupEvent("escalated", policy.Describe(step)));
        }
        return actions;
    }

    /// <summary>The next moment the group has something to do (a flush, an escalation step), or null.</summary>
    public static DateTimeOffset? NextDue(IncidentState s)
    {
        DateTimeOffset? due = s.IsOpen ? s.NextFlushAt : null;
        if (s.IsOpen && s.AcknowledgedAt is null && s.Policy?.NextStepAt(s.PolicyStep, s.NextPolicyStepAt) is { } step && (due is null || step < due)) due = step;
        return due;
    }

    public static IReadOnlyList<GroupAction> Flush(IncidentState s, FlushInputs inputs, DateTimeOffset now)
    {
        if (!s.IsOpen || s.NextFlushAt is not { } due || due > now) return [];
        var actions = new List<GroupAction>();
        var receiver = inputs.Receiver;
        var firing = s.Members.Values.Where(m => m.Status == MemberStatus.Firing && !inputs.Inhibited.Contains(m.AlertId)).ToArray();
        var newlyResolved = s.Members.Values.Where(m => m.Status == MemberStatus.Resolved && s.NotifiedFiring.Contains(m.AlertId) && !s.NotifiedResolved.Contains(m.AlertId)).ToArray();
        var muted = inputs.MutedBy;
        var first = s.FirstFlushAt is null;
        s.FirstFlushAt ??= now;
        s.NextFlushAt = now + inputs.GroupInterval;

        if (s.Members.Values.All(m => m.Status == MemberStatus.Resolved))
        {
            var told = s.NotifiedFiring.Count > 0 || s.NotifiedResolved.Count > 0;
            if (told && receiver is { SendResolved: true } && muted is null)
            {
                actions.Add(new SendGroupMessage(NotificationKind.Resolved, "resolved", [.. s.NotifiedChannels], [.. s.Members.Values]));
            }
            actions.Add(new CloseGroup(muted is not null && told ? $"every alert resolved; the resolved message was muted by {muted}" : "every alert resolved"));
            return actions;
        }
        if (muted is not null)
        {
            if (s.MutedSince is null) actions.Add(new NoteGroupEvent("muted", $"messages held by the time interval {muted}"));
            s.MutedSince ??= now;
            return actions;
        }
        if (s.MutedSince is not null)
        {
            actions.Add(new NoteGroupEvent("unmuted", "the time interval no longer holds messages"));
            s.MutedSince = null;
        }
        var firingIds = firing.Select(m => m.AlertId).ToHashSet(StringComparer.Ordinal);
        var changed = !firingIds.SetEquals(s.NotifiedFiring) || newlyResolved.Length > 0;
        var acknowledged = s.AcknowledgedAt is not null;
        if (changed && (firing.Length > 0 || newlyResolved.Length > 0))
        {
            if (!acknowledged && receiver is not null)
            {
                actions.Add(new SendGroupMessage(NotificationKind.Firing, "firing", receiver.Channels, [.. firing, .. newlyResolved]));
                s.LastNotifiedAt = now;
            }
            s.NotifiedFiring = firingIds;
            foreach (var m in newlyResolved) s.NotifiedResolved.Add(m.AlertId);
        }
        else if (receiver is not null && firing.Length > 0 && Escalation.Repeats.Due(s.LastNotifiedAt, inputs.RepeatInterval, acknowledged, now))
        {
            actions.Add(new SendGroupMessage(NotificationKind.Repeat, "firing", receiver.Channels, firing));
            s.LastNotifiedAt = now;
        }
        if (first && !acknowledged && receiver?.EscalationPolicy is { } policyId && firing.Length > 0)
        {
            actions.Add(new StartGroupPolicy(policyId));
        }
        return actions;
    }
}
