using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Common;
using Monitoring.Escalation;
using Monitoring.Rules;

namespace Monitoring.Tests.Alerts;

/// <summary>
/// The lifecycle as a pure function, table-driven with a fixed clock and no cluster: each case is a timeline of
/// inputs, and the status and messages it must end with. A second test checks that the time rules are written once:
/// nothing happens before <see cref="AlertLifecycle.NextDue"/>, and something does at it.
/// </summary>
public sealed class AlertLifecycleRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static AlertRule Rule(Func<AlertRule, AlertRule>? change = null)
    {
        var rule = new AlertRule("r", "High error rate", "error_rate > 0.05", TimeSpan.Zero, Severity.Critical, ["ops"], "m",
            TimeSpan.FromMinutes(30), null, [], true, true, [], T0);
        return change is null ? rule : change(rule);
    }

    private static readonly EscalationPolicy OnCall = new("oncall", "On-call",
        [new EscalationLevel(TimeSpan.Zero, ["chat"]), new EscalationLevel(TimeSpan.FromMinutes(10), ["mail"])], 1, TimeSpan.FromMinutes(15), T0);

    /// <summary>A timeline step: at a second, an input. "holds", "clear", "nodata", "tick", "ack", "resolve", "close", "suppress:SECONDS", "silence:ID:UNTIL[:resolved]", "unsilence".</summary>
    public sealed record Step(int At, string Input);

    public static TheoryData<string, Func<AlertRule, AlertRule>?, Step[], AlertStatus, string[]> Cases => new()
    {
        { "fires at once with for 0 and resolves when the condition clears", null,
            [new(0, "holds"), new(60, "clear")], AlertStatus.Resolved, ["firing:ops", "resolved:ops"] },
        { "waits out for before firing", r => r with { For = TimeSpan.FromMinutes(2) },
            [new(0, "holds"), new(60, "holds"), new(119, "tick")], AlertStatus.Pending, [] },
        { "fires when for has elapsed, on the tick", r => r with { For = TimeSpan.FromMinutes(2) },
            [new(0, "holds"), new(120, "tick")], AlertStatus.Firing, ["firing:ops"] },
        { "a condition that clears before for never fires", r => r with { For = TimeSpan.FromMinutes(5) },
            [new(0, "holds"), new(10, "clear"), new(400, "tick")], AlertStatus.Inactive, [] },
        { "no data leaves a firing alert firing", null,
            [new(0, "holds"), new(300, "nodata"), new(3000, "nodata")], AlertStatus.Firing, ["firing:ops", "repeat:ops"] },
        { "no data never fires a pending alert", r => r with { For = TimeSpan.FromMinutes(1) },
            [new(0, "holds"), new(30, "nodata"), new(120, "tick")], AlertStatus.Pending, [] },
        { "cooldown spaces repeats", null,
            [new(0, "holds"), new(1799, "tick"), new(1800, "tick"), new(3600, "tick")], AlertStatus.Firing, ["firing:ops", "repeat:ops", "repeat:ops"] },
        { "an acknowledgement stops repeats and escalation", r => r with { EscalateAfter = TimeSpan.FromMinutes(10), EscalationChannels = ["esc"] },
            [new(0, "holds"), new(60, "ack"), new(7200, "tick")], AlertStatus.Acknowledged, ["firing:ops"] },
        { "escalateAfter tells the escalation channels once", r => r with { EscalateAfter = TimeSpan.FromMinutes(10), EscalationChannels = ["esc"], Cooldown = TimeSpan.Zero },
            [new(0, "holds"), new(600, "tick"), new(7200, "tick"), new(7300, "clear")], AlertStatus.Resolved, ["firing:ops", "escalation:esc", "resolved:ops", "resolved:esc"] },
        { "a policy walks its levels and repeats", r => r with { EscalationPolicy = "oncall", Cooldown = TimeSpan.Zero },
            [new(0, "holds"), new(600, "tick"), new(1500, "tick"), new(2100, "tick"), new(9000, "tick")], AlertStatus.Escalated,
            ["firing:ops", "escalation:chat", "escalation:mail", "escalation:chat", "escalation:mail"] },
        { "suppression holds the firing message until it ends", null,
            [new(0, "holds"), new(1, "suppress:600"), new(599, "holds"), new(601, "tick")], AlertStatus.Firing, ["firing:ops"] },
        { "a silence withholds and its end releases the firing message", null,
            [new(0, "silence:s1:300"), new(0, "holds"), new(299, "tick"), new(300, "unsilence")], AlertStatus.Firing, ["firing:ops~s1", "firing:ops"] },
        { "a silenced resolution is withheld unless the silence asks for it", null,
            [new(0, "holds"), new(10, "silence:s1:600"), new(20, "clear")], AlertStatus.Resolved, ["firing:ops", "resolved:ops~s1"] },
        { "a silence that opted in sends the resolution", null,
            [new(0, "holds"), new(10, "silence:s1:600:resolved"), new(20, "clear")], AlertStatus.Resolved, ["firing:ops", "resolved:ops"] },
        { "without auto-resolve only a person resolves", r => r with { AutoResolve = false },
            [new(0, "holds"), new(10, "clear"), new(20, "clear"), new(30, "resolve")], AlertStatus.Resolved, ["firing:ops", "resolved:ops"] },
        { "a new episode is announced even inside the cooldown", null,
            [new(0, "holds"), new(10, "clear"), new(20, "holds")], AlertStatus.Firing, ["firing:ops", "resolved:ops", "firing:ops"] },
        { "closing a firing alert resolves it", null,
            [new(0, "holds"), new(10, "close")], AlertStatus.Resolved, ["firing:ops", "resolved:ops"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Follows_the_timeline(string name, Func<AlertRule, AlertRule>? change, Step[] steps, AlertStatus status, string[] pages)
    {
        var (life, effects) = Play(Rule(change), steps);
        Assert.True(status == AlertLifecycle.StatusAt(life, T0.AddSeconds(steps[^1].At)), $"{name}: {AlertLifecycle.StatusAt(life, T0.AddSeconds(steps[^1].At))}");
        Assert.Equal(pages, effects.OfType<PageEffect>().Select(Describe).ToArray());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Nothing_happens_before_the_next_deadline_and_something_does_at_it(string name, Func<AlertRule, AlertRule>? change, Step[] steps, AlertStatus status, string[] pages)
    {
        _ = (status, pages);
        var rule = Rule(change);
        var life = new AlertLife();
        ActiveSilence? silence = null;
        foreach (var step in steps)
        {
            (life, _, silence) = Apply(rule, life, silence, step);
            var now = T0.AddSeconds(step.At);
            if (AlertLifecycle.NextDue(life, Inputs(rule, silence), now) is not { } due) continue;
            Assert.True(due >= now, name);
            if (due > now)
            {
                var early = AlertLifecycle.Tick(life, Inputs(rule, silence), due.AddMilliseconds(-1));
                Assert.True(early.Effects.Count == 0, $"{name}: something happened before {due:u}");
            }
            var silenceAtDue = silence is { } s && s.EndsAt <= due ? null : silence;
            var atDue = AlertLifecycle.Tick(life, Inputs(rule, silenceAtDue), due);
            Assert.True(atDue.Effects.Count > 0 || atDue.State != life || AlertLifecycle.StatusAt(life, due) != AlertLifecycle.StatusAt(life, due.AddMilliseconds(-1)),
                $"{name}: nothing happened at the deadline {due:u}");
        }
    }

    [Fact]
    public void Acknowledging_an_alert_that_is_not_firing_is_refused()
    {
        var outcome = AlertLifecycle.Acknowledge(new AlertLife(), "alice", Inputs(Rule(), null), T0);
        Assert.Contains("only a firing alert", outcome.Refusal);
    }

    [Fact]
    public void Suppressing_an_alert_that_is_over_is_refused_so_it_cannot_mute_the_next_episode()
    {
        var (life, _) = Play(Rule(), [new(0, "holds"), new(10, "clear")]);
        var outcome = AlertLifecycle.Suppress(life, TimeSpan.FromHours(1), "bob", Inputs(Rule(), null), T0.AddSeconds(20));
        Assert.Contains("use a silence", outcome.Refusal);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(1, true)]
    [InlineData(30 * 86400, true)]
    [InlineData(30 * 86400 + 1, false)]
    public void A_suppression_lasts_more_than_nothing_and_at_most_thirty_days(int seconds, bool taken)
    {
        var error = AlertLifecycle.SuppressionError(TimeSpan.FromSeconds(seconds));
        if (taken) Assert.Null(error);
        else Assert.Equal("must be more than 0s and at most 4w2d", error); // 30 days, as durations are written
    }

    [Fact]
    public void Idempotency_sequences_never_repeat()
    {
        var (_, effects) = Play(Rule(r => r with { EscalationPolicy = "oncall" }), [new(0, "holds"), new(600, "tick"), new(700, "clear"), new(800, "holds"), new(1500, "tick")]);
        var sequences = effects.Select(e => e switch { PageEffect p => p.Sequence, TransitionEffect t => t.Sequence, _ => 0 }).ToArray();
        Assert.Equal(sequences.Length, sequences.Distinct().Count());
    }

    private static string Describe(PageEffect p) => $"{p.Kind.ToString().ToLowerInvariant()}:{p.ChannelId}{(p.WithheldBy is null ? "" : "~" + p.WithheldBy)}";

    private static AlertInputs Inputs(AlertRule rule, ActiveSilence? silence) => new(rule, rule.EscalationPolicy is null ? null : OnCall, silence);

    private static (AlertLife, List<AlertEffect>) Play(AlertRule rule, Step[] steps)
    {
        var life = new AlertLife();
        var effects = new List<AlertEffect>();
        ActiveSilence? silence = null;
        foreach (var step in steps)
        {
            (life, var produced, silence) = Apply(rule, life, silence, step);
            effects.AddRange(produced);
        }
        return (life, effects);
    }

    private static (AlertLife, IReadOnlyList<AlertEffect>, ActiveSilence?) Apply(AlertRule rule, AlertLife life, ActiveSilence? silence, Step step)
    {
        var now = T0.AddSeconds(step.At);
        var parts = step.Input.Split(':');
        if (parts[0] == "silence") silence = new ActiveSilence(parts[1], T0.AddSeconds(int.Parse(parts[2])), parts.Length > 3);
        if (parts[0] == "unsilence") silence = null;
        var inputs = Inputs(rule, silence);
        var values = new Dictionary<string, double> { ["error_rate"] = 0.5 };
        var outcome = parts[0] switch
        {
            "holds" => AlertLifecycle.Observe(life, ConditionResult.Holds, values, inputs, now),
            "clear" => AlertLifecycle.Observe(life, ConditionResult.Clear, values, inputs, now),
            "nodata" => AlertLifecycle.Observe(life, ConditionResult.NoData, [], inputs, now),
            "ack" => AlertLifecycle.Acknowledge(life, "alice", inputs, now),
            "resolve" => AlertLifecycle.Resolve(life, "carol", inputs, now),
            "close" => AlertLifecycle.Close(life, "rule deleted", inputs, now),
            "suppress" => AlertLifecycle.Suppress(life, TimeSpan.FromSeconds(int.Parse(parts[1])), "bob", inputs, now),
            _ => AlertLifecycle.Tick(life, inputs, now),
        };
        Assert.Null(outcome.Refusal);
        return (outcome.State, outcome.Effects, silence);
    }
}
