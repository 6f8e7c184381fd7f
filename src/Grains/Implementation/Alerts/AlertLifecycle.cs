using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Rules;

namespace Monitoring.Alerts;

/// <summary>The silence that matches an alert now, as far as the lifecycle cares.</summary>
public sealed record ActiveSilence(string Id, DateTimeOffset EndsAt, bool SendResolved);

/// <summary>What the lifecycle reads besides its own state: the rule, the policy the rule names (if any), the matching silence.</summary>
public sealed record AlertInputs(AlertRule Rule, EscalationPolicy? NamedPolicy, ActiveSilence? Silence);

/// <summary>Something the grain carries out after a lifecycle step.</summary>
public abstract record AlertEffect;

/// <summary>The status changed: kept on the alert and appended to the history under <see cref="Sequence"/>.</summary>
public sealed record TransitionEffect(AlertTransition Transition, int Sequence) : AlertEffect;

/// <summary>
/// One message for one channel. <see cref="WithheldBy"/> names the silence that holds it back: it is recorded as
/// silenced and never sent.
/// </summary>
public sealed record PageEffect(NotificationKind Kind, string Status, string ChannelId, int Level, int Sequence, string? WithheldBy) : AlertEffect;

/// <summary>
/// An escalation step's people: its users, and whoever its schedules have on call. The grain finds them and pages each
/// through their notification rules; <see cref="WithheldBy"/> names the silence that holds the page back.
/// </summary>
public sealed record PagePeopleEffect(string Status, int Level, string[] Users, string[] Schedules, string? WithheldBy) : AlertEffect;

/// <summary>The next state, what to carry out, and why an action was refused (a conflict), if it was.</summary>
public sealed record AlertOutcome(AlertLife State, IReadOnlyList<AlertEffect> Effects, string? Refusal = null);

/// <summary>
/// An alert's lifecycle as a pure function of its state, its inputs and the time: inactive → pending (the condition
/// holds, waiting out <c>for</c>) → firing → resolved; while firing it may be acknowledged, suppressed, silenced and
/// escalated. No data leaves the alert as it is. Every rule that depends on time is written once, as a deadline
/// (<see cref="Deadlines"/>): <see cref="Tick"/> carries out those due, and <see cref="NextDue"/> is the earliest
/// of the rest, for the grain's timer.
/// </summary>
public static class AlertLifecycle
{
    public static readonly TimeSpan MaxSuppression = TimeSpan.FromDays(30);

    /// <summary>What is wrong with a suppression's duration, or null when it may be taken.</summary>
    public static string? SuppressionError(TimeSpan duration) =>
        duration <= TimeSpan.Zero || duration > MaxSuppression ? $"must be more than 0s and at most {Durations.Format(MaxSuppression)}" : null;

    public static AlertOutcome Observe(AlertLife state, ConditionResult condition, Dictionary<string, double> values, AlertInputs inputs, DateTimeOffset now)
    {
        var run = new Run(state, inputs, now);
        var open = state.IsOpen;
        if (condition == ConditionResult.Holds || open) run.ApplySilence();
        var before = run.Status;
        run.S = run.S with
        {
            LastCondition = condition,
            LastObservedAt = now,
            Values = condition == ConditionResult.Holds || open ? values : run.S.Values,
        };
        switch (condition)
        {
            case ConditionResult.Holds when run.S.Phase is AlertPhase.Inactive or AlertPhase.Resolved:
                run.S = run.S with { Phase = AlertPhase.Pending, PendingSince = now };
                run.Mark(before, "condition holds");
                break;
            case ConditionResult.Clear when run.S.Phase == AlertPhase.Pending:
                run.S = run.S with { Phase = AlertPhase.Inactive, PendingSince = null };
                run.Mark(before, "condition cleared before 'for' elapsed");
                break;
            case ConditionResult.Clear when run.S.Phase == AlertPhase.Firing && inputs.Rule.AutoResolve:
                run.Resolve("condition cleared");
                break;
        }
        return run.Advance();
    }

    public static AlertOutcome Acknowledge(AlertLife state, string? by, AlertInputs inputs, DateTimeOffset now)
    {
        if (state.Phase != AlertPhase.Firing)
        {
            return new AlertOutcome(state, [], $"only a firing alert can be acknowledged; this one is {Name(StatusAt(state, now))}");
        }
        if (state.Paging.AcknowledgedAt is not null) return new AlertOutcome(state, []);
        var run = new Run(state, inputs, now);
        var before = run.Status;
        run.P = run.P with { AcknowledgedAt = now, AcknowledgedBy = by };
        run.Mark(before, by is null ? "acknowledged" : $"acknowledged by {by}");
        return run.Advance();
    }

    public static AlertOutcome Resolve(AlertLife state, string? by, AlertInputs inputs, DateTimeOffset now)
    {
        if (!state.IsOpen)
        {
            return new AlertOutcome(state, [], $"only a pending or firing alert can be resolved; this one is {Name(StatusAt(state, now))}");
        }
        var run = new Run(state, inputs, now);
        run.ApplySilence();
        run.Resolve(by is null ? "resolved by hand" : $"resolved by {by}");
        return run.Advance();
    }

    public static AlertOutcome Suppress(AlertLife state, TimeSpan duration, string? by, AlertInputs inputs, DateTimeOffset now)
    {
        if (state.Phase is AlertPhase.Inactive or AlertPhase.Resolved)
        {
            // A suppression outlives nothing: muting an alert that is over would silently mute its next episode.
            return new AlertOutcome(state, [], $"only a pending or firing alert can be suppressed; this one is {Name(StatusAt(state, now))}; use a silence to mute future alerts");
        }
        var run = new Run(state, inputs, now);
        var before = run.Status;
        run.S = run.S with { SuppressedUntil = now + duration };
        run.Mark(before, $"suppressed for {Durations.Format(duration)}{(by is null ? "" : $" by {by}")}");
        return run.Advance();
    }

    /// <summary>The rule or the server is gone: what is pending stops, what fires resolves.</summary>
    public static AlertOutcome Close(AlertLife state, string reason, AlertInputs inputs, DateTimeOffset now)
    {
        if (!state.IsOpen) return new AlertOutcome(state, []);
        var run = new Run(state, inputs, now);
        run.ApplySilence();
        var before = run.Status;
        if (run.S.Phase == AlertPhase.Pending)
        {
            run.S = run.S with { Phase = AlertPhase.Inactive, PendingSince = null };
            run.Mark(before, reason);
        }
        else
        {
            run.Resolve(reason);
        }
        return run.Advance();
    }

    /// <summary>Time passed: does what is due.</summary>
    public static AlertOutcome Tick(AlertLife state, AlertInputs inputs, DateTimeOffset now)
    {
        var run = new Run(state, inputs, now);
        if (state.IsOpen) run.ApplySilence();
        return run.Advance();
    }

    /// <summary>The earliest moment something becomes due, or null when nothing waits on time.</summary>
    public static DateTimeOffset? NextDue(AlertLife state, AlertInputs inputs, DateTimeOffset now)
    {
        var run = new Run(state, inputs, now);
        DateTimeOffset? next = null;
        foreach (var (at, _) in run.Deadlines())
        {
            if (next is null || at < next) next = at;
        }
        // A silence's end changes the status even when nothing else is due then.
        if (state.Phase == AlertPhase.Firing && state.SilencedUntil > now && (next is null || state.SilencedUntil < next)) next = state.SilencedUntil;
        if (state.Phase == AlertPhase.Firing && state.SuppressedUntil > now && (next is null || state.SuppressedUntil < next)) next = state.SuppressedUntil;
        return next;
    }

    public static AlertStatus StatusAt(AlertLife s, DateTimeOffset now) => s.Phase switch
    {
        AlertPhase.Pending => AlertStatus.Pending,
        AlertPhase.Resolved => AlertStatus.Resolved,
        AlertPhase.Firing when s.SuppressedUntil > now => AlertStatus.Suppressed,
        AlertPhase.Firing when s.SilencedUntil > now => AlertStatus.Silenced,
        AlertPhase.Firing when s.Paging.AcknowledgedAt is not null => AlertStatus.Acknowledged,
        AlertPhase.Firing when s.Paging.EscalatedAt is not null => AlertStatus.Escalated,
        AlertPhase.Firing => AlertStatus.Firing,
        _ => AlertStatus.Inactive,
    };

    /// <summary>
    /// The escalation this episode runs: the policy the rule names, or the rule's simple <c>escalateAfter</c> as a
    /// policy whose first level tells nobody and whose second tells the escalation channels.
    /// </summary>
    public static EscalationPolicy? PolicyFor(AlertRule rule, EscalationPolicy? named)
    {
        if (rule.EscalationPolicy is not null) return named is { Levels.Length: > 0 } ? named : null;
        if (rule.EscalateAfter is not { } after) return null;
        var channels = rule.EscalationChannels.Length > 0 ? rule.EscalationChannels : rule.Channels;
        return new EscalationPolicy(SimplePolicyId, "escalateAfter", [new EscalationLevel(TimeSpan.Zero, []), new EscalationLevel(after, channels)], 0, TimeSpan.Zero, default);
    }

    /// <summary>The id of the policy made from a rule's <c>escalateAfter</c>; never shown as a policy.</summary>
    public const string SimplePolicyId = "";

    private static string Name(AlertStatus status) => status.ToString().ToLowerInvariant();

    /// <summary>One step of the lifecycle, applied to copies: the state that goes in is never changed.</summary>
    private sealed class Run(AlertLife state, AlertInputs inputs, DateTimeOffset now)
    {
        private readonly List<AlertEffect> _effects = [];
        public AlertLife S = state;

        public AlertPaging P
        {
            get => S.Paging;
            set => S = S with { Paging = value };
        }

        private AlertRule Rule => inputs.Rule;
        public AlertStatus Status => StatusAt(S, now);
        private bool Suppressed => S.SuppressedUntil > now;
        private bool Silenced => S.SilencedUntil > now;
        private bool Acknowledged => P.AcknowledgedAt is not null;

        /// <summary>Takes the silence that matches now, and records the alert entering or leaving one.</summary>
        public void ApplySilence()
        {
            var before = Status;
            if (S.SilencedBy is not null && before == AlertStatus.Firing)
            {
                before = AlertStatus.Silenced; // the silence ran out on its own just now
            }
            var silence = inputs.Silence is { } active && active.EndsAt > now ? active : null;
            S = S with { SilencedBy = silence?.Id, SilencedUntil = silence?.EndsAt, SilenceSendsResolved = silence?.SendResolved ?? false };
            if (silence is not null) Mark(before, $"silenced by {silence.Id} until {silence.EndsAt:u}");
            else if (before == AlertStatus.Silenced) Mark(before, "silence ended");
        }

        public void Mark(AlertStatus before, string reason)
        {
            var after = Status;
            if (after == before) return;
            S = S with { Sequence = S.Sequence + 1 };
            _effects.Add(new TransitionEffect(new AlertTransition(before, after, now, reason), S.Sequence));
        }

        /// <summary>
        /// Every time rule, as the moment it is due and what it does then. An action leaves its rule no longer due,
        /// so carrying out what is due always ends.
        /// </summary>
        public IEnumerable<(DateTimeOffset At, Action Do)> Deadlines()
        {
            var notBefore = Later(S.SuppressedUntil, S.FiredAt);
            if (S.Phase == AlertPhase.Pending && S.LastCondition == ConditionResult.Holds && S.PendingSince is { } since)
            {
                yield return (since + Rule.For, Fire);
            }
            if (S.Phase != AlertPhase.Firing) yield break;
            if (!P.FiringNotified && !Silenced)
            {
                yield return (Later(notBefore, S.SilencedUntil), () => Page(NotificationKind.Firing, Rule.Channels));
            }
            if (!P.FiringNotified && Silenced && !P.FiringWithheld)
            {
                yield return (notBefore, () => Page(NotificationKind.Firing, Rule.Channels));
            }
            if (P.FiringNotified && Repeats.DueAt(P.LastFiringNotifiedAt, Rule.Cooldown, Acknowledged) is { } repeat)
            {
                yield return (Later(Later(repeat, S.SuppressedUntil), S.SilencedUntil), () => Page(NotificationKind.Repeat, Rule.Channels));
            }
            if (!Acknowledged && P.Policy?.NextStepAt(P.PolicyStep, P.NextPolicyStepAt) is { } step)
            {
                yield return (Later(step, S.SuppressedUntil), Escalate);
            }
        }

        public AlertOutcome Advance()
        {
            for (var guard = 0; guard < 1000; guard++)
            {
                var due = Deadlines().Where(d => d.At <= now).OrderBy(d => d.At).Select(d => d.Do).FirstOrDefault();
                if (due is null) break;
                due();
            }
            return new AlertOutcome(S, _effects);
        }

        private void Fire()
        {
            var before = Status;
            var policy = PolicyFor(Rule, inputs.NamedPolicy);
            S = S with
            {
                Phase = AlertPhase.Firing,
                Episode = S.Episode + 1,
                FiredAt = now,
                ResolvedAt = null,
                Paging = new AlertPaging { Policy = policy, NextPolicyStepAt = policy?.FirstStepAt(now) },
            };
            Mark(before, $"condition held for {Durations.Format(Rule.For)}");
        }

        /// <summary>
        /// Takes the policy's next step (<see cref="EscalationPolicy.Step"/>), each at its own deadline: it tells its
        /// channels and pages its people with the step's status, withheld while a silence matches.
        /// </summary>
        private void Escalate()
        {
            var policy = P.Policy!;
            var step = policy.Step(P.PolicyStep, P.NextPolicyStepAt!.Value);
            var simple = policy.Id == SimplePolicyId;
            if (step.Escalates)
            {
                var before = Status;
                P = P with { EscalatedAt = P.EscalatedAt ?? now };
                Mark(before, policy.Describe(step, simple));
            }
            P = P with { PolicyStep = step.StepsTaken, NextPolicyStepAt = step.NextAt };
            Send(NotificationKind.Escalation, step.Status, step.Channels, simple ? 0 : step.Level, Silenced ? S.SilencedBy : null);
            if (step.PagesPeople)
            {
                _effects.Add(new PagePeopleEffect(step.Status, step.Level, step.Users, step.Schedules, Silenced ? S.SilencedBy : null));
            }
        }

        public void Resolve(string reason)
        {
            var before = Status;
            var wasFiring = S.Phase == AlertPhase.Firing;
            S = S with { Phase = AlertPhase.Resolved, ResolvedAt = now, PendingSince = null };
            Mark(before, reason);
            if (!wasFiring || Suppressed) return;
            if (Silenced)
            {
                // A silence sends nothing, unless it opted in to the resolved message; then everyone who was or would
                // have been told hears it.
                var channels = P.NotifiedChannels.Concat(P.FiringWithheld ? Rule.Channels : []).Distinct().ToArray();
                Send(NotificationKind.Resolved, "resolved", channels, 0, withheldBy: S.SilenceSendsResolved ? null : S.SilencedBy);
            }
            else if (P.FiringNotified || P.NotifiedChannels.Length > 0)
            {
                Send(NotificationKind.Resolved, "resolved", P.NotifiedChannels, 0, withheldBy: null);
            }
        }

        /// <summary>Firing and repeat messages: sent, or withheld while a silence matches.</summary>
        private void Page(NotificationKind kind, string[] channels)
        {
            var withheldBy = Silenced ? S.SilencedBy : null;
            switch (kind)
            {
                case NotificationKind.Firing when withheldBy is null:
                    P = P with { FiringNotified = true, LastFiringNotifiedAt = now };
                    break;
                case NotificationKind.Firing:
                    P = P with { FiringWithheld = true };
                    break;
                case NotificationKind.Repeat:
                    P = P with { LastFiringNotifiedAt = now };
                    break;
            }
            Send(kind, "firing", channels, 0, withheldBy);
        }

        private void Send(NotificationKind kind, string status, string[] channels, int level, string? withheldBy)
        {
            foreach (var channel in channels)
            {
                S = S with { Sequence = S.Sequence + 1 };
                _effects.Add(new PageEffect(kind, status, channel, level, S.Sequence, withheldBy));
                if (withheldBy is null)
                {
                    if (!P.NotifiedChannels.Contains(channel, StringComparer.Ordinal)) P = P with { NotifiedChannels = [.. P.NotifiedChannels, channel] };
                    S = S with { NotificationCount = S.NotificationCount + 1, LastNotifiedAt = now };
                }
            }
        }

        private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset? b) =>
            (a ?? DateTimeOffset.MinValue) > (b ?? DateTimeOffset.MinValue) ? a ?? DateTimeOffset.MinValue : b ?? DateTimeOffset.MinValue;
    }
}

/// <summary>One episode's paging: what was sent, the acknowledgement and the escalation.</summary>
[GenerateSerializer, Immutable, Alias("mcp.AlertPaging")]
public sealed record AlertPaging
{
    [Id(0), JsonPropertyName("FiringNotified")] public bool FiringNotified { get; init; }

    /// <summary>This episode's firing message was withheld by a silence.</summary>
    [Id(1), JsonPropertyName("FiringWithheld")] public bool FiringWithheld { get; init; }

    /// <summary>When a firing or repeat message last went out; repeats count from here.</summary>
    [Id(2), JsonPropertyName("LastFiringNotifiedAt")] public DateTimeOffset? LastFiringNotifiedAt { get; init; }

    [Id(3), JsonPropertyName("AcknowledgedAt")] public DateTimeOffset? AcknowledgedAt { get; init; }
    [Id(4), JsonPropertyName("AcknowledgedBy")] public string? AcknowledgedBy { get; init; }
    [Id(5), JsonPropertyName("EscalatedAt")] public DateTimeOffset? EscalatedAt { get; init; }

    /// <summary>This episode's copy of its escalation policy, taken when it fired.</summary>
    [Id(6), JsonPropertyName("Policy")] public EscalationPolicy? Policy { get; init; }

    /// <summary>The next policy step to run (level index plus levels times round).</summary>
    [Id(7), JsonPropertyName("PolicyStep")] public int PolicyStep { get; init; }

    [Id(8), JsonPropertyName("NextPolicyStepAt")] public DateTimeOffset? NextPolicyStepAt { get; init; }

    /// <summary>Channels told about this episode, so the resolution reaches every one of them.</summary>
    [Id(9), JsonPropertyName("NotifiedChannels")] public string[] NotifiedChannels { get; init; } = [];
}

/// <summary>An alert's lifecycle state: phase, episode, the last evaluation, the silence, and the episode's paging.</summary>
[GenerateSerializer, Immutable, Alias("mcp.AlertLife")]
public sealed record AlertLife
{
    [Id(0), JsonPropertyName("Phase")] public AlertPhase Phase { get; init; }
    [Id(1), JsonPropertyName("Episode")] public int Episode { get; init; }
    [Id(2), JsonPropertyName("PendingSince")] public DateTimeOffset? PendingSince { get; init; }
    [Id(3), JsonPropertyName("FiredAt")] public DateTimeOffset? FiredAt { get; init; }
    [Id(4), JsonPropertyName("ResolvedAt")] public DateTimeOffset? ResolvedAt { get; init; }
    [Id(5), JsonPropertyName("SuppressedUntil")] public DateTimeOffset? SuppressedUntil { get; init; }
    [Id(6), JsonPropertyName("LastCondition")] public ConditionResult LastCondition { get; init; }
    [Id(7), JsonPropertyName("LastObservedAt")] public DateTimeOffset? LastObservedAt { get; init; }
    [Id(8), JsonPropertyName("Values")] public Dictionary<string, double> Values { get; init; } = [];

    /// <summary>While a silence matches: which one (the latest-ending), and when it ends.</summary>
    [Id(9), JsonPropertyName("SilencedBy")] public string? SilencedBy { get; init; }
    [Id(10), JsonPropertyName("SilencedUntil")] public DateTimeOffset? SilencedUntil { get; init; }
    [Id(11), JsonPropertyName("SilenceSendsResolved")] public bool SilenceSendsResolved { get; init; }

    /// <summary>Numbers transitions and notifications: the history's order and the idempotency keys.</summary>
    [Id(12), JsonPropertyName("Sequence")] public int Sequence { get; init; }
    [Id(13), JsonPropertyName("NotificationCount")] public int NotificationCount { get; init; }
    [Id(14), JsonPropertyName("LastNotifiedAt")] public DateTimeOffset? LastNotifiedAt { get; init; }
    [Id(15), JsonPropertyName("Paging")] public AlertPaging Paging { get; init; } = new();

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsOpen => Phase is AlertPhase.Pending or AlertPhase.Firing;
}
